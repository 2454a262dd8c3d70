// Original file: proto/trellis/v1/worker.proto

import type { GpuMemory as _trellis_v1_GpuMemory, GpuMemory__Output as _trellis_v1_GpuMemory__Output } from '../../trellis/v1/GpuMemory.js';

export interface Heartbeat {
  'running_attempt_ids'?: (string)[];
  'gpu_memory'?: (_trellis_v1_GpuMemory)[];
}

export interface Heartbeat__Output {
  'running_attempt_ids': (string)[];
  'gpu_memory': (_trellis_v1_GpuMemory__Output)[];
}
