/** A worker's registry: running attempts read at scrape time, advertised slots, GPU memory when known. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { workerMetrics } from '../../worker/metrics.js';

describe('worker metrics', () => {
  it('reads the running attempts at each scrape and reports the slots it advertises', async () => {
    const source = { runningAttempts: ['a1', 'a2'] };
    const registry = workerMetrics(
      source,
      { cpus: 4, gpus: [{ id: '0', name: 'A100', memoryBytes: 42_949_672_960 }] },
      { processMetrics: false },
    );
    let text = await registry.metrics();
    assert.match(text, /^trellis_worker_attempts_running 2$/m);
    assert.match(text, /^trellis_worker_slots\{resource="cpu"\} 4$/m);
    assert.match(text, /^trellis_worker_slots\{resource="gpu"\} 1$/m);
    assert.match(text, /^trellis_worker_gpu_memory_bytes\{gpu="0"\} 42949672960$/m);
    source.runningAttempts = [];
    text = await registry.metrics();
    assert.match(text, /^trellis_worker_attempts_running 0$/m);
  });

  it('leaves GPU memory out when it is not known (GPUs given with --gpus)', async () => {
    const registry = workerMetrics(
      { runningAttempts: [] },
      { cpus: 1, gpus: [{ id: '0', name: 'gpu', memoryBytes: 0 }] },
      { processMetrics: false },
    );
    assert.doesNotMatch(await registry.metrics(), /trellis_worker_gpu_memory_bytes/);
  });
});
