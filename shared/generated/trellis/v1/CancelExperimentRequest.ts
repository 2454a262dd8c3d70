// Original file: proto/trellis/v1/experiment.proto


export interface CancelExperimentRequest {
  'id'?: (string);
}

export interface CancelExperimentRequest__Output {
  'id': (string);
}
