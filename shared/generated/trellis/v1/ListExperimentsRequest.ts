// Original file: proto/trellis/v1/experiment.proto


export interface ListExperimentsRequest {
  'status'?: (string)[];
}

export interface ListExperimentsRequest__Output {
  'status': (string)[];
}
