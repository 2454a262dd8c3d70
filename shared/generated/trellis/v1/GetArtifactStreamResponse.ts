// Original file: proto/trellis/v1/worker.proto

import type { ArtifactDownloadHeader as _trellis_v1_ArtifactDownloadHeader, ArtifactDownloadHeader__Output as _trellis_v1_ArtifactDownloadHeader__Output } from '../../trellis/v1/ArtifactDownloadHeader.js';

export interface GetArtifactStreamResponse {
  'header'?: (_trellis_v1_ArtifactDownloadHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'body'?: "header"|"chunk";
}

export interface GetArtifactStreamResponse__Output {
  'header'?: (_trellis_v1_ArtifactDownloadHeader__Output | null);
  'chunk'?: (Buffer);
  'body'?: "header"|"chunk";
}
