// Original file: proto/trellis/v1/experiment.proto

import type { ExperimentStatus as _trellis_v1_ExperimentStatus, ExperimentStatus__Output as _trellis_v1_ExperimentStatus__Output } from '../../trellis/v1/ExperimentStatus.js';

export interface ListExperimentsRequest {
  'status'?: (string)[];
  'page_size'?: (number);
  'page_token'?: (string);
  'states'?: (_trellis_v1_ExperimentStatus)[];
  'include_spec'?: (boolean);
}

export interface ListExperimentsRequest__Output {
  'status': (string)[];
  'page_size': (number);
  'page_token': (string);
  'states': (_trellis_v1_ExperimentStatus__Output)[];
  'include_spec': (boolean);
}
