// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface AttemptOutput {
  'attempt_id'?: (string);
  'lines'?: (string)[];
  'skipped_lines'?: (number | string | Long);
  'final'?: (boolean);
  'head'?: (string)[];
  'tail'?: (string)[];
  'omitted_lines'?: (number | string | Long);
  'omitted_bytes'?: (number | string | Long);
  'total_lines'?: (number | string | Long);
  'total_bytes'?: (number | string | Long);
}

export interface AttemptOutput__Output {
  'attempt_id': (string);
  'lines': (string)[];
  'skipped_lines': (string);
  'final': (boolean);
  'head': (string)[];
  'tail': (string)[];
  'omitted_lines': (string);
  'omitted_bytes': (string);
  'total_lines': (string);
  'total_bytes': (string);
}
