// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface Gpu {
  'id'?: (string);
  'name'?: (string);
  'memory_bytes'?: (number | string | Long);
}

export interface Gpu__Output {
  'id': (string);
  'name': (string);
  'memory_bytes': (string);
}
