/**
 * What the runner builds from a sweep's spec once: its search algorithm, its scheduler and the
 * slot request of its attempts; and, per attempt, its document and the assignment sent to the
 * worker.
 */
import { stepOnWire } from '../../shared/steps.js';
import { objectivesOf, type SweepSpec } from '../../shared/spec/schema.js';
import { resolveTrialConfig } from '../../shared/spec/resolve.js';
import type { AttemptDoc, TrialDoc } from '../../shared/types.js';
import type { CoordinatorMessage } from '../../shared/generated/trellis/v1/CoordinatorMessage.js';
import { parseMemory, type Placement, type SlotRequest } from '../dispatch/slots.js';
import { createSearch } from '../search/registry.js';
import type { SearchAlgorithm } from '../search/base.js';
import { createScheduler } from '../schedulers/registry.js';
import type { Scheduler } from '../schedulers/base.js';
import { pruneLossParams } from '../experiments/loss-params.js';
import { collectArtifactRefs } from '../../shared/artifact-refs.js';

export function searchOf(spec: SweepSpec): SearchAlgorithm {
  const { algorithm, seed, space, replicates: _replicates, ...settings } = spec.search;
  return createSearch(algorithm, { space, seed, settings, objectives: objectivesOf(spec.trial).length });
}

export function schedulerOf(spec: SweepSpec): Scheduler {
  const { type, ...settings } = spec.scheduler;
  const { seed, space } = spec.search;
  return createScheduler(type, { settings, seed, maxSteps: spec.trial.epochs, space });
}

export function slotRequestOf(spec: SweepSpec): SlotRequest {
  const r = spec.resources;
  return {
    cpus: r.cpus,
    gpus: r.gpus,
    memoryBytes: parseMemory(r.memory),
    runtime: spec.trial.runtime,
    labels: r.labels ?? {},
  };
}

/** A new running attempt, placed on its worker at `now`, bound to the worker identity and token hash. */
export function attemptOf(
  id: string,
  n: number,
  placement: Placement,
  now: number,
  leaseMs: number,
  binding: { identity: string; tokenHash: string },
  gpuMemoryBytes = 0,
): AttemptDoc {
  return {
    n,
    id,
    workerId: placement.workerId,
    identity: binding.identity,
    tokenHash: binding.tokenHash,
    ...(placement.gpuIds.length > 0 ? { gpuIds: placement.gpuIds } : {}),
    ...(gpuMemoryBytes > 0 ? { gpuMemoryBytes } : {}),
    status: 'running',
    startedAt: now,
    leaseExpiresAt: now + leaseMs,
  };
}

/**
 * The artifacts an attempt of `trial` may read: every `{"$artifact": id}` in its resolved config
 * (inputs the coordinator put there) and the checkpoint it resumes from. Nothing else.
 */
export function artifactsOfAttempt(spec: SweepSpec, trial: TrialDoc): string[] {
  const ids = collectArtifactRefs(resolveTrialConfig(spec.trial, trial.params));
  if (trial.checkpoint?.artifactId) ids.push(trial.checkpoint.artifactId);
  return ids;
}

/** The `assign` message of `attempt` (the trial's latest) on its worker, carrying its attempt token. */
export function assignmentOf(
  spec: SweepSpec,
  trial: TrialDoc,
  attempt: AttemptDoc,
  request: SlotRequest,
  attemptToken: string,
  after?: string,
): CoordinatorMessage {
  const config = pruneLossParams(resolveTrialConfig(spec.trial, trial.params));
  return {
    assign: {
      attempt_id: attempt.id,
      experiment_id: trial.experimentId,
      trial_id: trial.id,
      trial_number: trial.number,
      attempt: attempt.n,
      runtime: spec.trial.runtime,
      config_json: JSON.stringify(config),
      params_json: JSON.stringify(trial.params),
      seed: String(trial.seed),
      gpu_ids: attempt.gpuIds ?? [],
      cpus: request.cpus,
      checkpoint_artifact_id: trial.checkpoint?.artifactId ?? '',
      ...(({ step, step64 }) => ({ checkpoint_step: step, checkpoint_step64: step64 }))(
        stepOnWire(trial.checkpoint?.step ?? 0),
      ),
      attempt_token: attemptToken,
      gpu_memory_bytes: String(attempt.gpuMemoryBytes ?? 0),
      ...(after ? { after_attempt_id: after } : {}),
    },
  };
}
