// Original file: proto/trellis/v1/common.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface ParetoPoint {
  'trial_id'?: (string);
  'number'?: (number);
  'params'?: (_google_protobuf_Struct | null);
  'values'?: (number | string)[];
  'ci'?: (number | string)[];
  'replicates'?: (number);
}

export interface ParetoPoint__Output {
  'trial_id': (string);
  'number': (number);
  'params': (_google_protobuf_Struct__Output | null);
  'values': (number)[];
  'ci': (number)[];
  'replicates': (number);
}
