// Original file: proto/trellis/v1/worker.proto


export interface CheckpointSaved {
  'attempt_id'?: (string);
  'artifact_id'?: (string);
  'step'?: (number);
}

export interface CheckpointSaved__Output {
  'attempt_id': (string);
  'artifact_id': (string);
  'step': (number);
}
