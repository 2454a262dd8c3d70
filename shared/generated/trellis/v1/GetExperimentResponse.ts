// Original file: proto/trellis/v1/experiment.proto

import type { Experiment as _trellis_v1_Experiment, Experiment__Output as _trellis_v1_Experiment__Output } from '../../trellis/v1/Experiment.js';

export interface GetExperimentResponse {
  'experiment'?: (_trellis_v1_Experiment | null);
}

export interface GetExperimentResponse__Output {
  'experiment': (_trellis_v1_Experiment__Output | null);
}
