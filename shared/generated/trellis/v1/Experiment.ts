// Original file: proto/trellis/v1/common.proto

import type { Best as _trellis_v1_Best, Best__Output as _trellis_v1_Best__Output } from '../../trellis/v1/Best.js';
import type { Long } from '@grpc/proto-loader';

export interface Experiment {
  'id'?: (string);
  'name'?: (string);
  'kind'?: (string);
  'status'?: (string);
  'spec_json'?: (string);
  'created_at_ms'?: (number | string | Long);
  'updated_at_ms'?: (number | string | Long);
  'trials_created'?: (number);
  'best'?: (_trellis_v1_Best | null);
  'error'?: (string);
  'stages_json'?: (string);
  'owner'?: (string);
}

export interface Experiment__Output {
  'id': (string);
  'name': (string);
  'kind': (string);
  'status': (string);
  'spec_json': (string);
  'created_at_ms': (string);
  'updated_at_ms': (string);
  'trials_created': (number);
  'best': (_trellis_v1_Best__Output | null);
  'error': (string);
  'stages_json': (string);
  'owner': (string);
}
