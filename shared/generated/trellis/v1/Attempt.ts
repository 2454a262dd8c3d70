// Original file: proto/trellis/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface Attempt {
  'n'?: (number);
  'id'?: (string);
  'worker_id'?: (string);
  'status'?: (string);
  'started_at_ms'?: (number | string | Long);
  'ended_at_ms'?: (number | string | Long);
  'error'?: (string);
  'failure_kind'?: (string);
}

export interface Attempt__Output {
  'n': (number);
  'id': (string);
  'worker_id': (string);
  'status': (string);
  'started_at_ms': (string);
  'ended_at_ms': (string);
  'error': (string);
  'failure_kind': (string);
}
