// Original file: proto/trellis/v1/experiment.proto

import type { Long } from '@grpc/proto-loader';

export interface MetricRow {
  'trial_id'?: (string);
  'trial_number'?: (number);
  'attempt'?: (number);
  'step'?: (number);
  'time_ms'?: (number | string | Long);
  'values'?: ({[key: string]: number | string});
  'step64'?: (number | string | Long);
}

export interface MetricRow__Output {
  'trial_id': (string);
  'trial_number': (number);
  'attempt': (number);
  'step': (number);
  'time_ms': (string);
  'values': ({[key: string]: number});
  'step64': (string);
}
