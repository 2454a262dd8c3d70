// Original file: proto/trellis/v1/common.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface Best {
  'trial_id'?: (string);
  'number'?: (number);
  'params_json'?: (string);
  'metric'?: (string);
  'value'?: (number | string);
  'ci'?: (number | string);
  'replicates'?: (number);
  'params'?: (_google_protobuf_Struct | null);
}

export interface Best__Output {
  'trial_id': (string);
  'number': (number);
  'params_json': (string);
  'metric': (string);
  'value': (number);
  'ci': (number);
  'replicates': (number);
  'params': (_google_protobuf_Struct__Output | null);
}
