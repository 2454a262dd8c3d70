// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface CheckpointSaved {
  'attempt_id'?: (string);
  'artifact_id'?: (string);
  'step'?: (number);
  'step64'?: (number | string | Long);
  'attempt_token'?: (string);
}

export interface CheckpointSaved__Output {
  'attempt_id': (string);
  'artifact_id': (string);
  'step': (number);
  'step64': (string);
  'attempt_token': (string);
}
