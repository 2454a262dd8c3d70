// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface AttemptResult {
  'attempt_id'?: (string);
  'metrics'?: ({[key: string]: number | string});
  'info_json'?: (string);
  'attempt_token'?: (string);
  'peak_gpu_memory_bytes'?: (number | string | Long);
}

export interface AttemptResult__Output {
  'attempt_id': (string);
  'metrics': ({[key: string]: number});
  'info_json': (string);
  'attempt_token': (string);
  'peak_gpu_memory_bytes': (string);
}
