// Original file: proto/trellis/v1/experiment.proto


export interface ExportMetricsRequest {
  'experiment_id'?: (string);
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ExportMetricsRequest__Output {
  'experiment_id': (string);
  'page_size': (number);
  'page_token': (string);
}
