// Original file: proto/trellis/v1/experiment.proto

import type { Long } from '@grpc/proto-loader';

export interface AttemptLog {
  'trial_id'?: (string);
  'attempt'?: (number);
  'attempt_id'?: (string);
  'head'?: (string)[];
  'tail'?: (string)[];
  'omitted_lines'?: (number | string | Long);
  'omitted_bytes'?: (number | string | Long);
  'total_lines'?: (number | string | Long);
  'total_bytes'?: (number | string | Long);
  'running'?: (boolean);
  'source'?: (string);
}

export interface AttemptLog__Output {
  'trial_id': (string);
  'attempt': (number);
  'attempt_id': (string);
  'head': (string)[];
  'tail': (string)[];
  'omitted_lines': (string);
  'omitted_bytes': (string);
  'total_lines': (string);
  'total_bytes': (string);
  'running': (boolean);
  'source': (string);
}
