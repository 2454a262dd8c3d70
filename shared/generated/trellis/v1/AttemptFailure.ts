// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface AttemptFailure {
  'attempt_id'?: (string);
  'error'?: (string);
  'retryable'?: (boolean);
  'kind'?: (string);
  'evidence'?: (string);
  'attempt_token'?: (string);
  'peak_gpu_memory_bytes'?: (number | string | Long);
}

export interface AttemptFailure__Output {
  'attempt_id': (string);
  'error': (string);
  'retryable': (boolean);
  'kind': (string);
  'evidence': (string);
  'attempt_token': (string);
  'peak_gpu_memory_bytes': (string);
}
