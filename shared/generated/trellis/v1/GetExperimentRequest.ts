// Original file: proto/trellis/v1/experiment.proto


export interface GetExperimentRequest {
  'id'?: (string);
}

export interface GetExperimentRequest__Output {
  'id': (string);
}
