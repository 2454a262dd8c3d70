// Original file: proto/trellis/v1/worker.proto

import type { Hello as _trellis_v1_Hello, Hello__Output as _trellis_v1_Hello__Output } from '../../trellis/v1/Hello.js';
import type { Heartbeat as _trellis_v1_Heartbeat, Heartbeat__Output as _trellis_v1_Heartbeat__Output } from '../../trellis/v1/Heartbeat.js';
import type { Progress as _trellis_v1_Progress, Progress__Output as _trellis_v1_Progress__Output } from '../../trellis/v1/Progress.js';
import type { AttemptResult as _trellis_v1_AttemptResult, AttemptResult__Output as _trellis_v1_AttemptResult__Output } from '../../trellis/v1/AttemptResult.js';
import type { AttemptFailure as _trellis_v1_AttemptFailure, AttemptFailure__Output as _trellis_v1_AttemptFailure__Output } from '../../trellis/v1/AttemptFailure.js';
import type { AttemptStopped as _trellis_v1_AttemptStopped, AttemptStopped__Output as _trellis_v1_AttemptStopped__Output } from '../../trellis/v1/AttemptStopped.js';
import type { CheckpointSaved as _trellis_v1_CheckpointSaved, CheckpointSaved__Output as _trellis_v1_CheckpointSaved__Output } from '../../trellis/v1/CheckpointSaved.js';
import type { Draining as _trellis_v1_Draining, Draining__Output as _trellis_v1_Draining__Output } from '../../trellis/v1/Draining.js';
import type { AttemptOutput as _trellis_v1_AttemptOutput, AttemptOutput__Output as _trellis_v1_AttemptOutput__Output } from '../../trellis/v1/AttemptOutput.js';

export interface WorkerMessage {
  'hello'?: (_trellis_v1_Hello | null);
  'heartbeat'?: (_trellis_v1_Heartbeat | null);
  'progress'?: (_trellis_v1_Progress | null);
  'result'?: (_trellis_v1_AttemptResult | null);
  'failure'?: (_trellis_v1_AttemptFailure | null);
  'stopped'?: (_trellis_v1_AttemptStopped | null);
  'checkpoint'?: (_trellis_v1_CheckpointSaved | null);
  'draining'?: (_trellis_v1_Draining | null);
  'output'?: (_trellis_v1_AttemptOutput | null);
  'body'?: "hello"|"heartbeat"|"progress"|"result"|"failure"|"stopped"|"checkpoint"|"draining"|"output";
}

export interface WorkerMessage__Output {
  'hello'?: (_trellis_v1_Hello__Output | null);
  'heartbeat'?: (_trellis_v1_Heartbeat__Output | null);
  'progress'?: (_trellis_v1_Progress__Output | null);
  'result'?: (_trellis_v1_AttemptResult__Output | null);
  'failure'?: (_trellis_v1_AttemptFailure__Output | null);
  'stopped'?: (_trellis_v1_AttemptStopped__Output | null);
  'checkpoint'?: (_trellis_v1_CheckpointSaved__Output | null);
  'draining'?: (_trellis_v1_Draining__Output | null);
  'output'?: (_trellis_v1_AttemptOutput__Output | null);
  'body'?: "hello"|"heartbeat"|"progress"|"result"|"failure"|"stopped"|"checkpoint"|"draining"|"output";
}
