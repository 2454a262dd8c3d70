// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface GetArtifactUploadStatusResponse {
  'received_bytes'?: (number | string | Long);
  'total_size'?: (number | string | Long);
  'artifact_id'?: (string);
}

export interface GetArtifactUploadStatusResponse__Output {
  'received_bytes': (string);
  'total_size': (string);
  'artifact_id': (string);
}
