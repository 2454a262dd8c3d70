// Original file: proto/trellis/v1/common.proto

import type { Attempt as _trellis_v1_Attempt, Attempt__Output as _trellis_v1_Attempt__Output } from '../../trellis/v1/Attempt.js';
import type { Long } from '@grpc/proto-loader';

export interface Trial {
  'id'?: (string);
  'experiment_id'?: (string);
  'number'?: (number);
  'status'?: (string);
  'params_json'?: (string);
  'metrics'?: ({[key: string]: number | string});
  'attempts'?: (_trellis_v1_Attempt)[];
  'worker_id'?: (string);
  'info_json'?: (string);
  'error'?: (string);
  'seed'?: (number | string | Long);
  'last_step'?: (number);
  'lineage_json'?: (string);
}

export interface Trial__Output {
  'id': (string);
  'experiment_id': (string);
  'number': (number);
  'status': (string);
  'params_json': (string);
  'metrics': ({[key: string]: number});
  'attempts': (_trellis_v1_Attempt__Output)[];
  'worker_id': (string);
  'info_json': (string);
  'error': (string);
  'seed': (string);
  'last_step': (number);
  'lineage_json': (string);
}
