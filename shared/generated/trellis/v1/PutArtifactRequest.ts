// Original file: proto/trellis/v1/worker.proto


export interface PutArtifactRequest {
  'attempt_id'?: (string);
  'kind'?: (string);
  'step'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  'attempt_token'?: (string);
}

export interface PutArtifactRequest__Output {
  'attempt_id': (string);
  'kind': (string);
  'step': (number);
  'data': (Buffer);
  'attempt_token': (string);
}
