// Original file: proto/trellis/v1/worker.proto


export interface AttemptStopped {
  'attempt_id'?: (string);
  'reason'?: (string);
  'attempt_token'?: (string);
}

export interface AttemptStopped__Output {
  'attempt_id': (string);
  'reason': (string);
  'attempt_token': (string);
}
