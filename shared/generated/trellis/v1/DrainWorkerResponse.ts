// Original file: proto/trellis/v1/experiment.proto


export interface DrainWorkerResponse {
  'running_attempt_ids'?: (string)[];
}

export interface DrainWorkerResponse__Output {
  'running_attempt_ids': (string)[];
}
