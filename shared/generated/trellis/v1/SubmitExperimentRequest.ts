// Original file: proto/trellis/v1/experiment.proto


export interface SubmitExperimentRequest {
  'request_id'?: (string);
  'spec'?: (string);
  'no_cache'?: (boolean);
}

export interface SubmitExperimentRequest__Output {
  'request_id': (string);
  'spec': (string);
  'no_cache': (boolean);
}
