/**
 * Who may call what: the roles, the method table, and the ownership rule. Deny by default: a
 * method missing from the table is refused to everyone (a new RPC must be added here).
 *
 *   viewer     read experiments, trials, metrics, events
 *   submitter  viewer + submit, and cancel the experiments it owns
 *   admin      everything
 *   worker     WorkerService only (and reflection)
 */
import { PermissionDeniedError } from '../../shared/errors.js';

export const ROLES = ['viewer', 'submitter', 'admin', 'worker'] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  name: string;
  role: Role;
  /**
   * Workers: the most CPU slots (and GPUs) all connected workers of this identity may advertise
   * together (`trellis token create --max-slots N`); absent: unbounded.
   */
  maxSlots?: number;
}

/** The caller when the coordinator has no tokens configured (loopback or --insecure). */
export const ANONYMOUS: Identity = { name: 'anonymous', role: 'admin' };

const READ: readonly Role[] = ['viewer', 'submitter', 'admin'];
const WRITE: readonly Role[] = ['submitter', 'admin'];
const WORKER: readonly Role[] = ['worker', 'admin'];
const ADMIN: readonly Role[] = ['admin'];
const ANY: readonly Role[] = ['viewer', 'submitter', 'admin', 'worker'];

/** Service.Method → the roles allowed to call it. */
export const METHOD_ROLES: Readonly<Record<string, readonly Role[]>> = {
  'ExperimentService.SubmitExperiment': WRITE,
  'ExperimentService.GetExperiment': READ,
  'ExperimentService.ListExperiments': READ,
  'ExperimentService.ListTrials': READ,
  'ExperimentService.CancelExperiment': WRITE,
  'ExperimentService.ExportMetrics': READ,
  'ExperimentService.ListWorkers': READ,
  'ExperimentService.WatchEvents': READ,
  'ExperimentService.DrainWorker': ADMIN,
  'ExperimentService.GetAttemptLog': READ,
  'ExperimentService.WatchAttemptLog': READ,
  'WorkerService.Connect': WORKER,
  'WorkerService.PutArtifact': WORKER,
  // Workers for their attempts; submitters their own experiments' (coordinator/auth/artifacts.ts).
  'WorkerService.GetArtifact': ['worker', 'admin', 'submitter'],
  'WorkerService.PutArtifactStream': WORKER,
  'WorkerService.GetArtifactUploadStatus': WORKER,
  'WorkerService.GetArtifactStream': ['worker', 'admin', 'submitter'],
  // Server reflection describes the API to anyone authenticated (health needs no token).
  'ServerReflection.ServerReflectionInfo': ANY,
};

export function authorize(who: Identity, method: string): void {
  const allowed = METHOD_ROLES[method];
  if (!allowed || !allowed.includes(who.role)) {
    throw new PermissionDeniedError(
      `${who.name} (role ${who.role}) may not call ${method}${allowed ? `; allowed roles: ${allowed.join(', ')}` : ''}`,
    );
  }
}

/** Submitters change only their own experiments; admins any. */
export function assertOwner(who: Identity, experiment: { id: string; owner?: string }): void {
  if (who.role === 'admin') return;
  if (experiment.owner !== who.name) {
    throw new PermissionDeniedError(
      `${who.name} may not change experiment ${experiment.id}: it belongs to ${experiment.owner ?? 'nobody recorded'}`,
    );
  }
}
