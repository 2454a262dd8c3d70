// Original file: proto/trellis/v1/worker.proto

import type { Gpu as _trellis_v1_Gpu, Gpu__Output as _trellis_v1_Gpu__Output } from '../../trellis/v1/Gpu.js';
import type { Long } from '@grpc/proto-loader';

export interface Slots {
  'cpus'?: (number | string);
  'gpus'?: (_trellis_v1_Gpu)[];
  'memory_bytes'?: (number | string | Long);
}

export interface Slots__Output {
  'cpus': (number);
  'gpus': (_trellis_v1_Gpu__Output)[];
  'memory_bytes': (string);
}
