// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface ArtifactUploadHeader {
  'attempt_id'?: (string);
  'attempt_token'?: (string);
  'kind'?: (string);
  'step'?: (number | string | Long);
  'upload_id'?: (string);
  'total_size'?: (number | string | Long);
  'sha256'?: (string);
  'offset'?: (number | string | Long);
}

export interface ArtifactUploadHeader__Output {
  'attempt_id': (string);
  'attempt_token': (string);
  'kind': (string);
  'step': (string);
  'upload_id': (string);
  'total_size': (string);
  'sha256': (string);
  'offset': (string);
}
