// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface Welcome {
  'lease_ms'?: (number | string | Long);
  'heartbeat_ms'?: (number | string | Long);
}

export interface Welcome__Output {
  'lease_ms': (string);
  'heartbeat_ms': (string);
}
