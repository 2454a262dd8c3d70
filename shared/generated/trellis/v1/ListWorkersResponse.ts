// Original file: proto/trellis/v1/experiment.proto

import type { WorkerInfo as _trellis_v1_WorkerInfo, WorkerInfo__Output as _trellis_v1_WorkerInfo__Output } from '../../trellis/v1/WorkerInfo.js';

export interface ListWorkersResponse {
  'workers'?: (_trellis_v1_WorkerInfo)[];
}

export interface ListWorkersResponse__Output {
  'workers': (_trellis_v1_WorkerInfo__Output)[];
}
