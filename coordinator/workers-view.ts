/** A worker as ListWorkers shows it: what it offers, what is used and free, and when it was last heard. */
import { statusToEnum } from '../shared/convert.js';
import type { WorkerInfo } from '../shared/generated/trellis/v1/WorkerInfo.js';
import type { WorkerStatus } from '../shared/states.js';
import type { WorkerDoc } from '../shared/types.js';
import type { WorkerCapacity } from './dispatch/slots.js';
import type { WorkerSnapshot } from './dispatch/dispatcher.js';

/** A worker as ListWorkers shows it. */
export interface WorkerView {
  id: string;
  status: WorkerStatus;
  capacity: WorkerCapacity;
  draining: boolean;
  version: string;
  /** Last hello or heartbeat (epoch ms); for a worker no longer held, the stored lastSeenAt. */
  lastHeartbeatAt: number;
}

/** The dispatcher's workers (connected, or gone with holds still settling), then the stored rest. */
export function workerViews(held: WorkerSnapshot[], stored: WorkerDoc[]): WorkerView[] {
  const live = new Map(held.map((w) => [w.capacity.id, w]));
  const views: WorkerView[] = held.map((w) => ({
    id: w.capacity.id,
    status: !w.connected ? 'disconnected' : w.draining ? 'draining' : 'connected',
    capacity: w.capacity,
    draining: w.draining,
    version: w.version,
    lastHeartbeatAt: w.lastHeartbeatAt,
  }));
  for (const doc of stored) {
    if (live.has(doc.id)) continue;
    views.push({
      id: doc.id,
      status: doc.status,
      capacity: {
        id: doc.id,
        cpus: doc.slots.cpus,
        gpus: doc.slots.gpus,
        memoryBytes: doc.slots.memoryBytes,
        labels: doc.labels,
        runtimes: doc.runtimes,
        usedCpus: 0,
        usedGpus: new Set(),
        usedMemoryBytes: 0,
        running: 0,
        accepting: false,
      },
      draining: doc.draining ?? doc.status === 'draining',
      version: '',
      lastHeartbeatAt: doc.lastSeenAt,
    });
  }
  return views.sort((a, b) => a.id.localeCompare(b.id));
}

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
