// Original file: proto/trellis/v1/worker.proto


export interface Stop {
  'attempt_id'?: (string);
  'reason'?: (string);
  'attempt_ids'?: (string)[];
}

export interface Stop__Output {
  'attempt_id': (string);
  'reason': (string);
  'attempt_ids': (string)[];
}
