// Original file: proto/trellis/v1/experiment.proto

import type { Experiment as _trellis_v1_Experiment, Experiment__Output as _trellis_v1_Experiment__Output } from '../../trellis/v1/Experiment.js';

export interface ListExperimentsResponse {
  'experiments'?: (_trellis_v1_Experiment)[];
  'next_page_token'?: (string);
}

export interface ListExperimentsResponse__Output {
  'experiments': (_trellis_v1_Experiment__Output)[];
  'next_page_token': (string);
}
