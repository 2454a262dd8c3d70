/**
 * Built-in training tasks of the tfjs runtime (`trial.task`, default `classify`). A task gets the
 * attempt context and the selected TensorFlow.js backend and returns the final metrics. What a
 * task is (description, options, default objective, outputs, config checks) is its entry in
 * `shared/catalogue/tasks/`; this is only how it runs, bound to that entry by name.
 */
import type * as tfType from '@tensorflow/tfjs';
import { StoppedError, type AttemptContext, type RunResult } from '../runtimes/base.js';

export interface TaskBackend {
  /** `tensorflow-gpu`, `tensorflow`, `wasm` or `cpu`. */
  name: string;
  tf: typeof tfType;
}

export interface Task {
  /** The catalogue name it implements. */
  name: string;
  run(ctx: AttemptContext, backend: TaskBackend): Promise<RunResult>;
}

/** Throws the attempt's StoppedError when its signal is aborted. */
export function throwIfStopped(signal: AbortSignal, where: string): void {
  if (!signal.aborted) return;
  const reason: unknown = signal.reason;
  if (reason instanceof StoppedError) throw reason;
  const detail = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : '';
  throw new StoppedError(`stopped ${where}${detail ? `: ${detail}` : ''}`);
}

/** Lets timers and I/O run (so an abort can arrive) during synchronous CPU-bound training. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
