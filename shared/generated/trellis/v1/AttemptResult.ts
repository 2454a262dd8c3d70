// Original file: proto/trellis/v1/worker.proto


export interface AttemptResult {
  'attempt_id'?: (string);
  'metrics'?: ({[key: string]: number | string});
  'info_json'?: (string);
  'attempt_token'?: (string);
}

export interface AttemptResult__Output {
  'attempt_id': (string);
  'metrics': ({[key: string]: number});
  'info_json': (string);
  'attempt_token': (string);
}
