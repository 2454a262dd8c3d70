// Original file: proto/trellis/v1/worker.proto


export interface CheckpointSaved {
  'attempt_id'?: (string);
  'artifact_id'?: (string);
  'step'?: (number);
  'attempt_token'?: (string);
}

export interface CheckpointSaved__Output {
  'attempt_id': (string);
  'artifact_id': (string);
  'step': (number);
  'attempt_token': (string);
}
