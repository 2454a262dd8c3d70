// Original file: proto/trellis/v1/common.proto

import type { Attempt as _trellis_v1_Attempt, Attempt__Output as _trellis_v1_Attempt__Output } from '../../trellis/v1/Attempt.js';
import type { TrialStatus as _trellis_v1_TrialStatus, TrialStatus__Output as _trellis_v1_TrialStatus__Output } from '../../trellis/v1/TrialStatus.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from '../../google/protobuf/ListValue.js';
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
  'state'?: (_trellis_v1_TrialStatus);
  'params'?: (_google_protobuf_Struct | null);
  'info'?: (_google_protobuf_Struct | null);
  'lineage'?: (_google_protobuf_ListValue | null);
  'pending_reason'?: (string);
  'last_step64'?: (number | string | Long);
  'step_warnings'?: (number);
  'step_warning'?: (string);
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
  'state': (_trellis_v1_TrialStatus__Output);
  'params': (_google_protobuf_Struct__Output | null);
  'info': (_google_protobuf_Struct__Output | null);
  'lineage': (_google_protobuf_ListValue__Output | null);
  'pending_reason': (string);
  'last_step64': (string);
  'step_warnings': (number);
  'step_warning': (string);
}
