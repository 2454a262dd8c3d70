// Original file: proto/trellis/v1/common.proto

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
}
