// Original file: proto/trellis/v1/experiment.proto

import type { AttemptLog as _trellis_v1_AttemptLog, AttemptLog__Output as _trellis_v1_AttemptLog__Output } from '../../trellis/v1/AttemptLog.js';
import type { Long } from '@grpc/proto-loader';

export interface WatchAttemptLogResponse {
  'snapshot'?: (_trellis_v1_AttemptLog | null);
  'lines'?: (string)[];
  'skipped_lines'?: (number | string | Long);
  'ended'?: (boolean);
}

export interface WatchAttemptLogResponse__Output {
  'snapshot': (_trellis_v1_AttemptLog__Output | null);
  'lines': (string)[];
  'skipped_lines': (string);
  'ended': (boolean);
}
