// Original file: proto/trellis/v1/worker.proto


export interface GetArtifactResponse {
  'data'?: (Buffer | Uint8Array | string);
  'kind'?: (string);
}

export interface GetArtifactResponse__Output {
  'data': (Buffer);
  'kind': (string);
}
