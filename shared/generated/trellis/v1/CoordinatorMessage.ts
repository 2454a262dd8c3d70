// Original file: proto/trellis/v1/worker.proto

import type { Welcome as _trellis_v1_Welcome, Welcome__Output as _trellis_v1_Welcome__Output } from '../../trellis/v1/Welcome.js';
import type { Assignment as _trellis_v1_Assignment, Assignment__Output as _trellis_v1_Assignment__Output } from '../../trellis/v1/Assignment.js';
import type { Stop as _trellis_v1_Stop, Stop__Output as _trellis_v1_Stop__Output } from '../../trellis/v1/Stop.js';
import type { Drain as _trellis_v1_Drain, Drain__Output as _trellis_v1_Drain__Output } from '../../trellis/v1/Drain.js';

export interface CoordinatorMessage {
  'welcome'?: (_trellis_v1_Welcome | null);
  'assign'?: (_trellis_v1_Assignment | null);
  'stop'?: (_trellis_v1_Stop | null);
  'drain'?: (_trellis_v1_Drain | null);
  'body'?: "welcome"|"assign"|"stop"|"drain";
}

export interface CoordinatorMessage__Output {
  'welcome'?: (_trellis_v1_Welcome__Output | null);
  'assign'?: (_trellis_v1_Assignment__Output | null);
  'stop'?: (_trellis_v1_Stop__Output | null);
  'drain'?: (_trellis_v1_Drain__Output | null);
  'body'?: "welcome"|"assign"|"stop"|"drain";
}
