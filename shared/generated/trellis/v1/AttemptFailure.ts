// Original file: proto/trellis/v1/worker.proto


export interface AttemptFailure {
  'attempt_id'?: (string);
  'error'?: (string);
  'retryable'?: (boolean);
  'kind'?: (string);
  'attempt_token'?: (string);
}

export interface AttemptFailure__Output {
  'attempt_id': (string);
  'error': (string);
  'retryable': (boolean);
  'kind': (string);
  'attempt_token': (string);
}
