// Original file: proto/trellis/v1/experiment.proto


export interface WatchAttemptLogRequest {
  'trial_id'?: (string);
  'attempt'?: (number);
}

export interface WatchAttemptLogRequest__Output {
  'trial_id': (string);
  'attempt': (number);
}
