// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface PutArtifactRequest {
  'attempt_id'?: (string);
  'kind'?: (string);
  'step'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  'step64'?: (number | string | Long);
  'attempt_token'?: (string);
}

export interface PutArtifactRequest__Output {
  'attempt_id': (string);
  'kind': (string);
  'step': (number);
  'data': (Buffer);
  'step64': (string);
  'attempt_token': (string);
}
