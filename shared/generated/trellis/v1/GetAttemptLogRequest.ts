// Original file: proto/trellis/v1/experiment.proto


export interface GetAttemptLogRequest {
  'trial_id'?: (string);
  'attempt'?: (number);
}

export interface GetAttemptLogRequest__Output {
  'trial_id': (string);
  'attempt': (number);
}
