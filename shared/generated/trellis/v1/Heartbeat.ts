// Original file: proto/trellis/v1/worker.proto


export interface Heartbeat {
  'running_attempt_ids'?: (string)[];
}

export interface Heartbeat__Output {
  'running_attempt_ids': (string)[];
}
