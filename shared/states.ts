/**
 * The state machines of Trellis, with every legal transition in one place.
 * Anything not listed here is refused (FAILED_PRECONDITION at the API).
 */

export type ExperimentStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type TrialStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'pruned' | 'cancelled';
/**
 * An attempt is one execution of a trial on one worker, under a lease.
 * `lost`: the lease expired (worker died or was cut off); `handed_back`: the worker gave it up
 * while shutting down before it started; `preempted`: the worker was drained (SIGTERM, DrainWorker)
 * and handed the attempt back after asking it to checkpoint. All three requeue the trial.
 */
export type AttemptStatus =
  'running' | 'succeeded' | 'failed' | 'lost' | 'handed_back' | 'preempted' | 'cancelled' | 'pruned';
export type WorkerStatus = 'connected' | 'draining' | 'disconnected';
/** A pipeline stage. `pending → succeeded` directly is a cache hit; `running → pending` a retry. */
export type StageStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

const EXPERIMENT: Record<ExperimentStatus, readonly ExperimentStatus[]> = {
  pending: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

const TRIAL: Record<TrialStatus, readonly TrialStatus[]> = {
  // pending → pending is not a transition; a requeue is running → pending.
  pending: ['running', 'cancelled', 'failed'],
  running: ['pending', 'succeeded', 'failed', 'pruned', 'cancelled'],
  succeeded: [],
  failed: [],
  pruned: [],
  cancelled: [],
};

const ATTEMPT: Record<AttemptStatus, readonly AttemptStatus[]> = {
  running: ['succeeded', 'failed', 'lost', 'handed_back', 'preempted', 'cancelled', 'pruned'],
  succeeded: [],
  failed: [],
  lost: [],
  handed_back: [],
  preempted: [],
  cancelled: [],
  pruned: [],
};

const WORKER: Record<WorkerStatus, readonly WorkerStatus[]> = {
  connected: ['draining', 'disconnected'],
  draining: ['disconnected'],
  disconnected: ['connected'],
};

const STAGE: Record<StageStatus, readonly StageStatus[]> = {
  pending: ['running', 'succeeded', 'skipped', 'cancelled', 'failed'],
  running: ['pending', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  skipped: [],
  cancelled: [],
};

const MACHINES = { experiment: EXPERIMENT, trial: TRIAL, attempt: ATTEMPT, worker: WORKER, stage: STAGE } as const;
type Machines = typeof MACHINES;
export type MachineName = keyof Machines;
type StatusOf<M extends MachineName> = keyof Machines[M] & string;

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly machine: MachineName,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${machine} cannot go from ${from} to ${to}`);
  }
}

export function canTransition<M extends MachineName>(machine: M, from: StatusOf<M>, to: StatusOf<M>): boolean {
  const table = MACHINES[machine] as Record<string, readonly string[]>;
  return (table[from] ?? []).includes(to);
}

export function assertTransition<M extends MachineName>(machine: M, from: StatusOf<M>, to: StatusOf<M>): void {
  if (!canTransition(machine, from, to)) throw new IllegalTransitionError(machine, from, to);
}

export function isTerminal<M extends MachineName>(machine: M, status: StatusOf<M>): boolean {
  const table = MACHINES[machine] as Record<string, readonly string[]>;
  return (table[status] ?? []).length === 0;
}

export const EXPERIMENT_STATUSES = Object.keys(EXPERIMENT) as ExperimentStatus[];
export const TRIAL_STATUSES = Object.keys(TRIAL) as TrialStatus[];
export const ATTEMPT_STATUSES = Object.keys(ATTEMPT) as AttemptStatus[];
export const STAGE_STATUSES = Object.keys(STAGE) as StageStatus[];
