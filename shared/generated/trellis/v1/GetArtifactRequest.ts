// Original file: proto/trellis/v1/worker.proto


export interface GetArtifactRequest {
  'artifact_id'?: (string);
  'attempt_id'?: (string);
  'attempt_token'?: (string);
}

export interface GetArtifactRequest__Output {
  'artifact_id': (string);
  'attempt_id': (string);
  'attempt_token': (string);
}
