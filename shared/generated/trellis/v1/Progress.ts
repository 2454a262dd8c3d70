// Original file: proto/trellis/v1/worker.proto


export interface Progress {
  'attempt_id'?: (string);
  'step'?: (number);
  'metrics'?: ({[key: string]: number | string});
  'attempt_token'?: (string);
}

export interface Progress__Output {
  'attempt_id': (string);
  'step': (number);
  'metrics': ({[key: string]: number});
  'attempt_token': (string);
}
