// Original file: proto/trellis/v1/common.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Long } from '@grpc/proto-loader';

export interface Event {
  'seq'?: (number | string | Long);
  'type'?: (string);
  'time_ms'?: (number | string | Long);
  'experiment_id'?: (string);
  'trial_number'?: (number);
  'trial_id'?: (string);
  'worker_id'?: (string);
  'stage'?: (string);
  'payload_json'?: (string);
  'payload'?: (_google_protobuf_Struct | null);
}

export interface Event__Output {
  'seq': (string);
  'type': (string);
  'time_ms': (string);
  'experiment_id': (string);
  'trial_number': (number);
  'trial_id': (string);
  'worker_id': (string);
  'stage': (string);
  'payload_json': (string);
  'payload': (_google_protobuf_Struct__Output | null);
}
