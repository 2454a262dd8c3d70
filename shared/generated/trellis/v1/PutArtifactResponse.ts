// Original file: proto/trellis/v1/worker.proto


export interface PutArtifactResponse {
  'artifact_id'?: (string);
}

export interface PutArtifactResponse__Output {
  'artifact_id': (string);
}
