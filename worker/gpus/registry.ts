/** The worker's GPU probe: the fake one when TRELLIS_FAKE_GPUS is set (test-only), else nvidia-smi. */
import { env } from '../../shared/env.js';
import type { GpuProbe } from './base.js';
import { fakeProbe } from './fake.js';
import { nvidiaSmiProbe } from './nvidia-smi.js';

export function gpuProbe(): GpuProbe {
  const fake = env().TRELLIS_FAKE_GPUS;
  return fake ? fakeProbe(fake, env().TRELLIS_FAKE_GPU_PROCS) : nvidiaSmiProbe;
}
