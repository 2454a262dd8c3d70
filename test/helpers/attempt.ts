/**
 * A fake AttemptContext for running a task in-process in unit tests: reports are collected
 * (steps must increase, as the worker enforces), checkpoints go to an in-memory list (pass the
 * same list to a second attempt to resume), and the controller stops the attempt.
 */
import * as tf from '@tensorflow/tfjs';
import { trialSchema } from '../../shared/spec/schema.js';
import type { AttemptContext, Checkpoint } from '../../worker/runtimes/base.js';

export interface FakeAttempt {
  ctx: AttemptContext;
  reports: Array<{ step: number; metrics: Record<string, number> }>;
  store: Checkpoint[];
  controller: AbortController;
}

export function fakeAttempt(
  task: string,
  trial: Record<string, unknown>,
  seed = 1,
  store: Checkpoint[] = [],
): FakeAttempt {
  const reports: FakeAttempt['reports'] = [];
  const controller = new AbortController();
  const ctx: AttemptContext = {
    experimentId: `exp-${task}`,
    trialId: 'trial-1',
    trialNumber: 1,
    attemptId: `trial-1/attempt-${store.length + 1}`,
    attemptNumber: store.length + 1,
    config: trialSchema.parse({ task, ...trial }),
    params: {},
    seed,
    gpuIds: [],
    signal: controller.signal,
    report(step, metrics) {
      const last = reports.at(-1);
      if (last && step <= last.step) return;
      reports.push({ step, metrics: { ...metrics } });
    },
    checkpoint: {
      async load() {
        return store.at(-1);
      },
      async save(checkpoint) {
        store.push({ step: checkpoint.step, data: Buffer.from(checkpoint.data) });
      },
    },
    log() {},
  };
  return { ctx, reports, store, controller };
}

/** Puts this test process on the WebAssembly backend (call from `before`); returns the task backend. */
export async function useWasmBackend(): Promise<{ name: string; tf: typeof tf }> {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  return { name: 'wasm', tf };
}
