// Original file: proto/trellis/v1/worker.proto


export interface GetArtifactUploadStatusRequest {
  'attempt_id'?: (string);
  'attempt_token'?: (string);
  'upload_id'?: (string);
}

export interface GetArtifactUploadStatusRequest__Output {
  'attempt_id': (string);
  'attempt_token': (string);
  'upload_id': (string);
}
