/** A worker as ListWorkers shows it: what it offers, what is used and free, and when it was last heard. */
import { statusToEnum } from '../shared/convert.js';
import type { WorkerInfo } from '../shared/generated/trellis/v1/WorkerInfo.js';
import type { WorkerView } from './coordinator.js';

export function workerToProto(w: WorkerView): WorkerInfo {
  const c = w.capacity;
  return {
    id: w.id,
    state: statusToEnum('WORKER', w.status),
    slots: {
      cpus: c.cpus,
      gpus: c.gpus.map((id) => ({ id, name: '', memory_bytes: '0' })),
      memory_bytes: String(c.memoryBytes),
    },
    used_cpus: c.usedCpus,
    free_cpus: Math.max(0, c.cpus - c.usedCpus),
    used_gpu_ids: c.gpus.filter((id) => c.usedGpus.has(id)),
    free_gpu_ids: c.gpus.filter((id) => !c.usedGpus.has(id)),
    used_memory_bytes: String(c.usedMemoryBytes),
    free_memory_bytes: String(Math.max(0, c.memoryBytes - c.usedMemoryBytes)),
    running: c.running,
    runtimes: c.runtimes,
    labels: c.labels,
    last_heartbeat_ms: String(w.lastHeartbeatAt),
    draining: w.draining,
    version: w.version,
  };
}
