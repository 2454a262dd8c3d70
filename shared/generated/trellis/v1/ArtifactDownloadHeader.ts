// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface ArtifactDownloadHeader {
  'kind'?: (string);
  'size'?: (number | string | Long);
  'sha256'?: (string);
  'offset'?: (number | string | Long);
}

export interface ArtifactDownloadHeader__Output {
  'kind': (string);
  'size': (string);
  'sha256': (string);
  'offset': (string);
}
