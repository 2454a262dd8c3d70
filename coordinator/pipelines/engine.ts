/**
 * PipelineRunner: runs a Pipeline experiment's DAG.
 *
 * A stage is ready when every stage it needs has succeeded; ready stages start at once, so
 * independent branches run in parallel on the worker pool. Each stage runs as a child Sweep
 * experiment (leases, retries of lost attempts, checkpoints and restart-safety come from the
 * sweep machinery); its request id is derived from (pipeline, stage, attempt), so a restarted
 * coordinator finds the same child instead of starting another. Stage state lives in the
 * pipeline's experiment document and every change is published as a `stage.state` event.
 *
 * Caching: a stage's key hashes its kind, its fully resolved child spec (references replaced by
 * the values they name), the sha256 of every input artifact and the code version. A finished
 * stage stores its result as the artifact `stage-cache-<key>`; a later stage with the same key
 * reuses it (`cached: true`) — only within one owner's pipelines (the owner is in the key). A pipeline with `cache: false` (`--no-cache`) neither reads nor
 * writes the cache.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../store/base.js';
import type { EventLog } from '../event-log.js';
import type { BestTrial, ExperimentDoc, StageState, TrialDoc } from '../../shared/types.js';
import { assertTransition, type StageStatus } from '../../shared/states.js';
import type { PipelineSpec, PipelineStage } from './spec.js';
import { substitute, type StageResults } from './refs.js';
import { stageKindOf } from './stage-kinds/registry.js';
import type { StageInputs } from './stage-kinds/base.js';
import { collectArtifactRefs } from '../../shared/artifact-refs.js';
import { quarantine } from '../experiments/quarantine.js';

export interface PipelineContext {
  store: Store;
  events: EventLog;
  log: Logger;
  codeVersion: string;
  /** Creates (idempotently, by request id) and starts the child Sweep that runs a stage. */
  submitChild(spec: Record<string, unknown>, requestId: string, parentId: string): Promise<ExperimentDoc>;
  /** Resolves with the experiment once it is terminal. */
  waitForExperiment(id: string): Promise<ExperimentDoc>;
  cancelExperiment(id: string): Promise<void>;
}

export class PipelineRunner {
  private readonly spec: PipelineSpec;
  private stages: Record<string, StageState>;
  private readonly log: Logger;
  private writes: Promise<unknown> = Promise.resolve();
  private cancelled = false;
  private done: Promise<void> | undefined;

  constructor(
    private experiment: ExperimentDoc,
    private readonly ctx: PipelineContext,
  ) {
    this.spec = experiment.spec as unknown as PipelineSpec;
    this.log = ctx.log.child({ experimentId: experiment.id });
    this.stages = structuredClone(experiment.stages ?? {});
    for (const stage of this.spec.stages) this.stages[stage.name] ??= { status: 'pending', cached: false, attempt: 0 };
  }

  get id(): string {
    return this.experiment.id;
  }

  run(): Promise<void> {
    // A throw here would otherwise leave the pipeline running forever: it is failed and quarantined.
    this.done ??= this.drive().catch((err: unknown) => quarantine(this.id, err, this.ctx));
    return this.done;
  }

  private async drive(): Promise<void> {
    if (this.experiment.status === 'running') await this.reconcileEvents();
    if (this.experiment.status === 'pending') {
      const updated = await this.ctx.store.updateExperiment(
        this.id,
        { status: 'pending' },
        { status: 'running', stages: this.stages, updatedAt: Date.now() },
      );
      if (!updated) return;
      this.experiment = updated;
      this.ctx.events.emit({ type: 'experiment.state', experimentId: this.id, payload: { status: 'running' } });
    }
    if (this.experiment.status !== 'running') return;

    const running = new Map<string, Promise<void>>();
    for (;;) {
      if (this.cancelled) break;
      const failed = this.spec.stages.some((s) => this.stages[s.name]!.status === 'failed');
      if (!failed) {
        for (const stage of this.ready()) {
          if (running.has(stage.name)) continue;
          running.set(
            stage.name,
            this.runStage(stage).finally(() => running.delete(stage.name)),
          );
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    await this.finish();
  }

  /** After a restart: emits the stage states a killed coordinator stored but did not publish. */
  private async reconcileEvents(): Promise<void> {
    const last = new Map<string, string>();
    for (const event of await this.ctx.store.listEvents(this.id, 1)) {
      if (event.type === 'stage.state' && event.stage) last.set(event.stage, String(event.payload.status));
    }
    for (const [name, state] of Object.entries(this.stages)) {
      if (state.status === 'pending' || last.get(name) === state.status) continue;
      this.ctx.events.emit({
        type: 'stage.state',
        experimentId: this.id,
        stage: name,
        payload: { status: state.status, cached: state.cached, attempt: state.attempt },
      });
    }
  }

  /** Stages not yet finished whose needs have all succeeded (and running ones, after a restart). */
  private ready(): PipelineStage[] {
    return this.spec.stages.filter((stage) => {
      const state = this.stages[stage.name]!;
      if (state.status === 'running') return true;
      if (state.status !== 'pending') return false;
      return stage.needs.every((need) => this.stages[need]?.status === 'succeeded');
    });
  }

  private results(name: string): StageResults | undefined {
    const state = this.stages[name];
    if (!state || state.status !== 'succeeded') return undefined;
    return {
      outputs: state.outputs ?? {},
      metrics: state.metrics ?? {},
      ...(state.best
        ? {
            best: {
              params: state.best.params,
              value: state.best.value,
              metric: state.best.metric,
              trialId: state.best.trialId,
            },
          }
        : {}),
    };
  }

  private async runStage(stage: PipelineStage): Promise<void> {
    const kind = stageKindOf(stage);
    let state = this.stages[stage.name]!;
    let childSpec: Record<string, unknown>;
    let inputs: StageInputs;
    try {
      const resolve = (value: unknown): Record<string, unknown> =>
        substitute(value, (n) => this.results(n)) as Record<string, unknown>;
      inputs = { params: resolve(stage.params), ...(stage.sweep ? { sweep: resolve(stage.sweep) } : {}) };
      childSpec = kind.childSpec(stage, inputs, this.spec);
    } catch (err) {
      await this.setStage(stage.name, {
        status: 'failed',
        error: `stages.${stage.name}: ${(err as Error).message}`,
        endedAt: Date.now(),
      });
      return;
    }
    const cacheKey = await this.cacheKey(kind.name, childSpec);

    if (state.status === 'pending' && this.spec.cache !== false) {
      const hit = await this.ctx.store.getArtifact(`stage-cache-${cacheKey}`);
      if (hit) {
        const cached = JSON.parse(hit.data.toString('utf8')) as Pick<
          StageState,
          'outputs' | 'metrics' | 'best' | 'childId'
        >;
        await this.setStage(stage.name, {
          ...cached,
          status: 'succeeded',
          cached: true,
          inputs: inputs.params,
          cacheKey,
          endedAt: Date.now(),
        });
        this.log.info({ stage: stage.name, from: cached.childId }, 'stage reused a cached result');
        return;
      }
    }

    if (state.status === 'pending') {
      state = await this.setStage(stage.name, {
        status: 'running',
        attempt: state.attempt + 1,
        inputs: inputs.params,
        cacheKey,
        startedAt: Date.now(),
      });
    }
    // One child sweep per stage run; its request id makes a restarted coordinator find it again.
    const requestId = `${this.id}:${stage.name}:${state.attempt}`;
    let child: ExperimentDoc;
    try {
      child = await this.ctx.submitChild(childSpec, requestId, this.id);
    } catch (err) {
      await this.setStage(stage.name, {
        status: 'failed',
        error: `stages.${stage.name}: ${(err as Error).message}`,
        endedAt: Date.now(),
      });
      return;
    }
    if (state.childId !== child.id) state = await this.setStage(stage.name, { childId: child.id });
    const final = await this.ctx.waitForExperiment(child.id);
    if (this.cancelled) return;
    if (final.status !== 'succeeded') {
      const error = final.error ?? `stage sweep ${final.id} ${final.status}`;
      await this.setStage(stage.name, {
        status: final.status === 'cancelled' ? 'cancelled' : 'failed',
        error,
        endedAt: Date.now(),
      });
      return;
    }
    const result = await this.collect(final);
    await this.setStage(stage.name, { ...result, status: 'succeeded', cached: false, endedAt: Date.now() });
    if (this.spec.cache === false) return; // --no-cache neither reads nor writes the cache
    await this.ctx.store
      .putArtifact(
        { id: `stage-cache-${cacheKey}`, experimentId: this.id, kind: 'stage-cache', meta: { stage: stage.name } },
        Buffer.from(JSON.stringify({ ...result, childId: final.id })),
      )
      .catch((err: unknown) => this.log.warn({ err, stage: stage.name }, 'stage result not cached'));
  }

  /** The stage's result: its best trial's outputs and metrics (and, for sweeps, the best). */
  private async collect(
    child: ExperimentDoc,
  ): Promise<{ outputs: Record<string, unknown>; metrics: Record<string, number>; best?: BestTrial }> {
    const trials = await this.ctx.store.listTrials(child.id);
    const best: TrialDoc | undefined =
      (child.best && trials.find((t) => t.id === child.best!.trialId)) ?? trials.find((t) => t.status === 'succeeded');
    const outputs = (best?.info?.outputs ?? {}) as Record<string, unknown>;
    return {
      outputs,
      metrics: best?.metrics ?? {},
      ...(this.spec.stages.find((s) => `${this.spec.name}.${s.name}` === child.name)?.sweep && child.best
        ? { best: child.best }
        : {}),
    };
  }

  private async cacheKey(kind: string, childSpec: Record<string, unknown>): Promise<string> {
    const { name: _name, ...rest } = childSpec;
    const artifacts: Record<string, string> = {};
    for (const id of collectArtifactRefs(rest)) {
      const artifact = await this.ctx.store.getArtifact(id);
      artifacts[id] = artifact?.meta.sha256 ?? 'missing';
    }
    // The owner is part of the key: a stage's result (its outputs, artifacts) is reused only for
    // pipelines of the same owner, never handed to another user who submits the same spec.
    const owner = this.experiment.owner ?? '';
    return createHash('sha256')
      .update(stableStringify({ kind, spec: rest, artifacts, code: this.ctx.codeVersion, owner }))
      .digest('hex')
      .slice(0, 32);
  }

  private setStage(name: string, patch: Partial<StageState>): Promise<StageState> {
    const write = this.writes.then(async () => {
      const before = this.stages[name]!;
      if (patch.status && patch.status !== before.status) assertTransition('stage', before.status, patch.status);
      const next: StageState = { ...before, ...patch };
      if (
        patch.status &&
        patch.status !== 'failed' &&
        patch.status !== 'pending' &&
        next.error &&
        patch.error === undefined
      )
        delete next.error;
      this.stages = { ...this.stages, [name]: next };
      const updated = await this.ctx.store.updateExperiment(
        this.id,
        {},
        { stages: this.stages, updatedAt: Date.now() },
      );
      if (updated) this.experiment = updated;
      if (patch.status && patch.status !== before.status) {
        this.ctx.events.emit({
          type: 'stage.state',
          experimentId: this.id,
          stage: name,
          payload: {
            status: next.status,
            cached: next.cached,
            attempt: next.attempt,
            ...(next.childId ? { childId: next.childId } : {}),
            ...(next.metrics ? { metrics: next.metrics } : {}),
            ...(next.error && next.status !== 'succeeded' ? { error: next.error } : {}),
          },
        });
      }
      return next;
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  async cancel(): Promise<ExperimentDoc | undefined> {
    const updated = await this.ctx.store.updateExperiment(
      this.id,
      { status: ['pending', 'running'] },
      { status: 'cancelled', updatedAt: Date.now() },
    );
    if (!updated) return undefined;
    this.experiment = updated;
    this.cancelled = true;
    for (const stage of this.spec.stages) {
      const state = this.stages[stage.name]!;
      if (state.status === 'running' && state.childId)
        await this.ctx.cancelExperiment(state.childId).catch(() => undefined);
      if (state.status === 'running' || state.status === 'pending')
        await this.setStage(stage.name, { status: 'cancelled', endedAt: Date.now() });
    }
    this.ctx.events.emit({ type: 'experiment.state', experimentId: this.id, payload: { status: 'cancelled' } });
    return this.experiment;
  }

  private async finish(): Promise<void> {
    if (this.cancelled) return;
    const failed = this.spec.stages.filter((s) => this.stages[s.name]!.status === 'failed');
    for (const stage of this.spec.stages) {
      if (this.stages[stage.name]!.status === 'pending') await this.setStage(stage.name, { status: 'skipped' });
    }
    const status = failed.length === 0 ? 'succeeded' : 'failed';
    const error =
      failed.length > 0
        ? failed.map((s) => `stage ${s.name} failed: ${this.stages[s.name]!.error ?? ''}`).join('; ')
        : undefined;
    await this.writes;
    const updated = await this.ctx.store.updateExperiment(
      this.id,
      { status: 'running' },
      { status, updatedAt: Date.now(), ...(error ? { error } : {}) },
    );
    if (!updated) return;
    this.experiment = updated;
    this.ctx.events.emit({
      type: 'experiment.state',
      experimentId: this.id,
      payload: { status, ...(error ? { error } : {}) },
    });
    this.log.info({ status }, 'pipeline finished');
  }
}

/** JSON with object keys sorted, so equal values hash equally. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export type { StageStatus };
