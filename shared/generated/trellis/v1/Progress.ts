// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface Progress {
  'attempt_id'?: (string);
  'step'?: (number);
  'metrics'?: ({[key: string]: number | string});
  'step64'?: (number | string | Long);
  'step_refused'?: (string);
  'attempt_token'?: (string);
}

export interface Progress__Output {
  'attempt_id': (string);
  'step': (number);
  'metrics': ({[key: string]: number});
  'step64': (string);
  'step_refused': (string);
  'attempt_token': (string);
}
