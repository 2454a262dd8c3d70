// Original file: proto/trellis/v1/experiment.proto

import type { AttemptLog as _trellis_v1_AttemptLog, AttemptLog__Output as _trellis_v1_AttemptLog__Output } from '../../trellis/v1/AttemptLog.js';

export interface GetAttemptLogResponse {
  'log'?: (_trellis_v1_AttemptLog | null);
}

export interface GetAttemptLogResponse__Output {
  'log': (_trellis_v1_AttemptLog__Output | null);
}
