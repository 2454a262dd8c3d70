// Original file: proto/trellis/v1/experiment.proto


export interface DrainWorkerRequest {
  'worker_id'?: (string);
}

export interface DrainWorkerRequest__Output {
  'worker_id': (string);
}
