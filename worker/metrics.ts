/**
 * A worker's own Prometheus metrics (private prom-client registry), served on its
 * `--metrics-listen` (shared/metrics-http.ts):
 *
 *   trellis_worker_attempts_running        attempts this worker runs now (gauge)
 *   trellis_worker_slots{resource}         slots it advertises (gauge; cpu, gpu)
 *   trellis_worker_gpu_memory_bytes{gpu}   memory of each GPU it advertises, when known (gauge)
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { GpuSlot } from './agent.js';

export function workerMetrics(
  source: { runningAttempts: readonly string[] },
  slots: { cpus: number; gpus: GpuSlot[] },
  options: { processMetrics?: boolean } = {},
): Registry {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'trellis_worker_attempts_running',
    help: 'Attempts this worker runs now',
    registers,
    collect() {
      this.set(source.runningAttempts.length);
    },
  });
  const advertised = new Gauge({
    name: 'trellis_worker_slots',
    help: 'Slots this worker advertises, by resource (cpu, gpu)',
    labelNames: ['resource'] as const,
    registers,
  });
  advertised.set({ resource: 'cpu' }, slots.cpus);
  advertised.set({ resource: 'gpu' }, slots.gpus.length);
  const known = slots.gpus.filter((g) => g.memoryBytes > 0);
  if (known.length > 0) {
    const memory = new Gauge({
      name: 'trellis_worker_gpu_memory_bytes',
      help: 'Total memory of each GPU this worker advertises (as nvidia-smi reported it at start)',
      labelNames: ['gpu'] as const,
      registers,
    });
    for (const gpu of known) memory.set({ gpu: gpu.id }, gpu.memoryBytes);
  }
  return registry;
}
