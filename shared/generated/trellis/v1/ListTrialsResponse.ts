// Original file: proto/trellis/v1/experiment.proto

import type { Trial as _trellis_v1_Trial, Trial__Output as _trellis_v1_Trial__Output } from '../../trellis/v1/Trial.js';

export interface ListTrialsResponse {
  'trials'?: (_trellis_v1_Trial)[];
  'next_page_token'?: (string);
}

export interface ListTrialsResponse__Output {
  'trials': (_trellis_v1_Trial__Output)[];
  'next_page_token': (string);
}
