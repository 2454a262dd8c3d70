// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface GetArtifactStreamRequest {
  'artifact_id'?: (string);
  'attempt_id'?: (string);
  'attempt_token'?: (string);
  'offset'?: (number | string | Long);
}

export interface GetArtifactStreamRequest__Output {
  'artifact_id': (string);
  'attempt_id': (string);
  'attempt_token': (string);
  'offset': (string);
}
