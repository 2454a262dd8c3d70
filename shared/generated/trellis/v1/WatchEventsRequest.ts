// Original file: proto/trellis/v1/experiment.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchEventsRequest {
  'experiment_id'?: (string);
  'from_seq'?: (number | string | Long);
  'from_start'?: (boolean);
  'live_only'?: (boolean);
}

export interface WatchEventsRequest__Output {
  'experiment_id': (string);
  'from_seq': (string);
  'from_start': (boolean);
  'live_only': (boolean);
}
