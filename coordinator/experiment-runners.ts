/**
 * ExperimentRunners: the runner of each experiment this coordinator drives (a SweepRunner or a
 * PipelineRunner), started at most once per experiment and forgotten when its run ends. A runner
 * that cannot even be built from the stored document quarantines its experiment instead.
 */
import type { Logger } from 'pino';
import type { Store } from './store/base.js';
import type { EventLog } from './event-log.js';
import type { CoordinatorObserver } from './observer.js';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { LeaseTable } from './dispatch/leases.js';
import { SweepRunner } from './sweeps/runner.js';
import { validateSpec, type ValidatedSpec } from './experiments/validate.js';
import { PipelineRunner } from './pipelines/engine.js';
import { quarantine } from './experiments/quarantine.js';
import { codeVersion } from '../shared/version.js';
import { mapArtifactRefs } from '../shared/artifact-refs.js';
import type { Limits } from '../shared/limits.js';
import type { ExperimentDoc } from '../shared/types.js';

export interface ExperimentRunnersContext {
  /** The coordinator's patient store (waits out outages). */
  store: Store;
  events: EventLog;
  dispatcher: Dispatcher;
  leases: LeaseTable;
  log: Logger;
  observer: CoordinatorObserver | undefined;
  limits: Limits;
  /** Stores a validated spec as a new experiment (idempotent by request id) and starts it. */
  create(
    spec: ValidatedSpec,
    requestId: string,
    parentId: string,
    owner: string | undefined,
  ): Promise<{ experiment: ExperimentDoc }>;
  /** Cancels an experiment (a pipeline's child). */
  cancel(id: string): Promise<unknown>;
}

export class ExperimentRunners {
  private readonly sweeps = new Map<string, SweepRunner>();
  private readonly pipelines = new Map<string, PipelineRunner>();
  private readonly runs = new Set<Promise<void>>();

  constructor(private readonly ctx: ExperimentRunnersContext) {}

  /** The running sweep's runner (undefined: none, or a pipeline). */
  sweep(id: string): SweepRunner | undefined {
    return this.sweeps.get(id);
  }

  /** The running experiment's runner, of either kind. */
  get(id: string): SweepRunner | PipelineRunner | undefined {
    return this.sweeps.get(id) ?? this.pipelines.get(id);
  }

  /** Resolves once every sweep started so far has leased again the attempts running before a restart. */
  async ready(): Promise<void> {
    await Promise.all([...this.sweeps.values()].map((runner) => runner.ready));
  }

  /** Resolves when every runner started so far has finished (for embedded runs and tests). */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs]);
  }

  /**
   * Starts the experiment's runner. A runner that cannot even be built from the stored document
   * (a rule added since it was stored, a corrupt spec) fails the experiment and quarantines it
   * instead of failing start-up: the coordinator never crash-loops on stored data.
   */
  start(experiment: ExperimentDoc): void {
    if (this.sweeps.has(experiment.id) || this.pipelines.has(experiment.id)) return;
    try {
      this.build(experiment);
    } catch (err) {
      const { store, events, log } = this.ctx;
      const run = quarantine(experiment.id, err, { store, events, log }).finally(() => this.runs.delete(run));
      this.runs.add(run);
    }
  }

  private build(experiment: ExperimentDoc): void {
    const { ctx } = this;
    if (experiment.kind === 'Pipeline') {
      const pipeline = new PipelineRunner(experiment, {
        store: ctx.store,
        events: ctx.events,
        log: ctx.log,
        codeVersion: codeVersion(),
        submitChild: async (spec, requestId, parentId) => {
          // Large outputs arrive as {"$artifact": id} (resolved on the worker). Validate a copy in
          // which they read as pending references, which task validators leave alone; store the
          // spec (defaults filled in) with the references intact.
          validateSpec(
            mapArtifactRefs(spec, (id) => `\${artifact.${id}}`),
            { limits: ctx.limits },
          );
          const validated = validateSpec(spec, { skipTaskChecks: true, limits: ctx.limits });
          // A stage's experiment belongs to whoever owns the pipeline.
          return (await ctx.create(validated, requestId, parentId, experiment.owner)).experiment;
        },
        waitForExperiment: (id) => ctx.events.waitForEnd(id),
        cancelExperiment: async (id) => {
          await ctx.cancel(id).catch(() => undefined);
        },
      });
      this.pipelines.set(experiment.id, pipeline);
      const run = pipeline.run().finally(() => {
        this.runs.delete(run);
        this.pipelines.delete(experiment.id);
      });
      this.runs.add(run);
      return;
    }
    const runner = new SweepRunner(experiment, {
      store: ctx.store,
      events: ctx.events,
      dispatcher: ctx.dispatcher,
      leases: ctx.leases,
      log: ctx.log,
      observer: ctx.observer,
    });
    this.sweeps.set(experiment.id, runner);
    const run = runner.run().finally(() => {
      this.runs.delete(run);
      this.sweeps.delete(experiment.id);
    });
    this.runs.add(run);
  }
}
