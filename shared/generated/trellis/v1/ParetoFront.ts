// Original file: proto/trellis/v1/common.proto

import type { ParetoPoint as _trellis_v1_ParetoPoint, ParetoPoint__Output as _trellis_v1_ParetoPoint__Output } from '../../trellis/v1/ParetoPoint.js';

export interface ParetoFront {
  'metrics'?: (string)[];
  'modes'?: (string)[];
  'points'?: (_trellis_v1_ParetoPoint)[];
  'reference'?: (number | string)[];
  'reference_source'?: (string);
  'hypervolume'?: (number | string);
  'configurations'?: (number);
  'thinned'?: (number);
}

export interface ParetoFront__Output {
  'metrics': (string)[];
  'modes': (string)[];
  'points': (_trellis_v1_ParetoPoint__Output)[];
  'reference': (number)[];
  'reference_source': (string);
  'hypervolume': (number);
  'configurations': (number);
  'thinned': (number);
}
