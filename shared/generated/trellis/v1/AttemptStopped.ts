// Original file: proto/trellis/v1/worker.proto


export interface AttemptStopped {
  'attempt_id'?: (string);
  'reason'?: (string);
}

export interface AttemptStopped__Output {
  'attempt_id': (string);
  'reason': (string);
}
