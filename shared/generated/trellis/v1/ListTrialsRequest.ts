// Original file: proto/trellis/v1/experiment.proto


export interface ListTrialsRequest {
  'experiment_id'?: (string);
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListTrialsRequest__Output {
  'experiment_id': (string);
  'page_size': (number);
  'page_token': (string);
}
