// Original file: proto/trellis/v1/experiment.proto


export interface ListWorkersRequest {
}

export interface ListWorkersRequest__Output {
}
