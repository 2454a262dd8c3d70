// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface GpuMemory {
  'id'?: (string);
  'total_bytes'?: (number | string | Long);
  'used_bytes'?: (number | string | Long);
}

export interface GpuMemory__Output {
  'id': (string);
  'total_bytes': (string);
  'used_bytes': (string);
}
