// Original file: proto/trellis/v1/common.proto

import type { AttemptStatus as _trellis_v1_AttemptStatus, AttemptStatus__Output as _trellis_v1_AttemptStatus__Output } from '../../trellis/v1/AttemptStatus.js';
import type { Long } from '@grpc/proto-loader';

export interface Attempt {
  'n'?: (number);
  'id'?: (string);
  'worker_id'?: (string);
  'status'?: (string);
  'started_at_ms'?: (number | string | Long);
  'ended_at_ms'?: (number | string | Long);
  'error'?: (string);
  'failure_kind'?: (string);
  'state'?: (_trellis_v1_AttemptStatus);
  'failure_evidence'?: (string);
}

export interface Attempt__Output {
  'n': (number);
  'id': (string);
  'worker_id': (string);
  'status': (string);
  'started_at_ms': (string);
  'ended_at_ms': (string);
  'error': (string);
  'failure_kind': (string);
  'state': (_trellis_v1_AttemptStatus__Output);
  'failure_evidence': (string);
}
