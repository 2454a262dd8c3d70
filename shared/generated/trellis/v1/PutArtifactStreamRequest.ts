// Original file: proto/trellis/v1/worker.proto

import type { ArtifactUploadHeader as _trellis_v1_ArtifactUploadHeader, ArtifactUploadHeader__Output as _trellis_v1_ArtifactUploadHeader__Output } from '../../trellis/v1/ArtifactUploadHeader.js';

export interface PutArtifactStreamRequest {
  'header'?: (_trellis_v1_ArtifactUploadHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'body'?: "header"|"chunk";
}

export interface PutArtifactStreamRequest__Output {
  'header'?: (_trellis_v1_ArtifactUploadHeader__Output | null);
  'chunk'?: (Buffer);
  'body'?: "header"|"chunk";
}
