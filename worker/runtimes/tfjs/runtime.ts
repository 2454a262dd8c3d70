/**
 * The `tfjs` runtime: runs a built-in task (`trial.task`, default `classify`) in-process on the
 * best TensorFlow.js backend available (native GPU when the worker assigned GPUs, native CPU,
 * wasm, then plain JavaScript).
 */
import { DEFAULT_TASK, getTask } from '../../tasks/registry.js';
import type { AttemptContext, Runtime, RunResult } from '../base.js';
import { selectBackend } from './backend.js';

export const tfjsRuntime: Runtime = {
  name: 'tfjs',
  async run(ctx: AttemptContext): Promise<RunResult> {
    const task = getTask(ctx.config.task ?? DEFAULT_TASK);
    const backend = await selectBackend(ctx.gpuIds.length > 0);
    if (ctx.gpuIds.length > 0 && backend.name !== 'tensorflow-gpu') {
      ctx.log(`tfjs: GPUs ${ctx.gpuIds.join(',')} assigned but running on the ${backend.name} backend`);
    }
    const result = await task.run(ctx, backend);
    return { metrics: result.metrics, info: { ...result.info, backend: backend.name } };
  },
};
