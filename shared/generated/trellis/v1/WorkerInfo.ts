// Original file: proto/trellis/v1/experiment.proto

import type { WorkerStatus as _trellis_v1_WorkerStatus, WorkerStatus__Output as _trellis_v1_WorkerStatus__Output } from '../../trellis/v1/WorkerStatus.js';
import type { Slots as _trellis_v1_Slots, Slots__Output as _trellis_v1_Slots__Output } from '../../trellis/v1/Slots.js';
import type { Long } from '@grpc/proto-loader';

export interface WorkerInfo {
  'id'?: (string);
  'state'?: (_trellis_v1_WorkerStatus);
  'slots'?: (_trellis_v1_Slots | null);
  'used_cpus'?: (number | string);
  'free_cpus'?: (number | string);
  'used_gpu_ids'?: (string)[];
  'free_gpu_ids'?: (string)[];
  'used_memory_bytes'?: (number | string | Long);
  'free_memory_bytes'?: (number | string | Long);
  'running'?: (number);
  'runtimes'?: (string)[];
  'labels'?: ({[key: string]: string});
  'last_heartbeat_ms'?: (number | string | Long);
  'draining'?: (boolean);
  'version'?: (string);
}

export interface WorkerInfo__Output {
  'id': (string);
  'state': (_trellis_v1_WorkerStatus__Output);
  'slots': (_trellis_v1_Slots__Output | null);
  'used_cpus': (number);
  'free_cpus': (number);
  'used_gpu_ids': (string)[];
  'free_gpu_ids': (string)[];
  'used_memory_bytes': (string);
  'free_memory_bytes': (string);
  'running': (number);
  'runtimes': (string)[];
  'labels': ({[key: string]: string});
  'last_heartbeat_ms': (string);
  'draining': (boolean);
  'version': (string);
}
