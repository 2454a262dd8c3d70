// Original file: proto/trellis/v1/common.proto

import type { Best as _trellis_v1_Best, Best__Output as _trellis_v1_Best__Output } from '../../trellis/v1/Best.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { ExperimentStatus as _trellis_v1_ExperimentStatus, ExperimentStatus__Output as _trellis_v1_ExperimentStatus__Output } from '../../trellis/v1/ExperimentStatus.js';
import type { ParetoFront as _trellis_v1_ParetoFront, ParetoFront__Output as _trellis_v1_ParetoFront__Output } from '../../trellis/v1/ParetoFront.js';
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
  'spec'?: (_google_protobuf_Struct | null);
  'stages'?: (_google_protobuf_Struct | null);
  'state'?: (_trellis_v1_ExperimentStatus);
  'pareto'?: (_trellis_v1_ParetoFront | null);
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
  'spec': (_google_protobuf_Struct__Output | null);
  'stages': (_google_protobuf_Struct__Output | null);
  'state': (_trellis_v1_ExperimentStatus__Output);
  'pareto': (_trellis_v1_ParetoFront__Output | null);
}
