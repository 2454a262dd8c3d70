// Original file: proto/trellis/v1/worker.proto

import type { Slots as _trellis_v1_Slots, Slots__Output as _trellis_v1_Slots__Output } from '../../trellis/v1/Slots.js';

export interface Hello {
  'worker_id'?: (string);
  'slots'?: (_trellis_v1_Slots | null);
  'labels'?: ({[key: string]: string});
  'runtimes'?: (string)[];
  'version'?: (string);
  'running_attempt_ids'?: (string)[];
  'attempt_tokens'?: ({[key: string]: string});
  'prefetch'?: (boolean);
}

export interface Hello__Output {
  'worker_id': (string);
  'slots': (_trellis_v1_Slots__Output | null);
  'labels': ({[key: string]: string});
  'runtimes': (string)[];
  'version': (string);
  'running_attempt_ids': (string)[];
  'attempt_tokens': ({[key: string]: string});
  'prefetch': (boolean);
}
