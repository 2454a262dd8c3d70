/**
 * The dashboard's JSON API: reads of the same store the gRPC service reads, shaped by
 * shared/dashboard.ts. Every answer is a plain JSON document; errors go through the server's one
 * mapping (gRPC code → HTTP status).
 */
import type { Coordinator } from '../coordinator.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors.js';
import {
  budgetOf,
  FIRST_ALL,
  curvesOf,
  objectiveOf,
  progressOfCounts,
  replicatesOf,
  toDashExperiment,
  toDashTrial,
  type DashCurves,
  type DashLog,
  type DashExperiment,
  type DashTrial,
  type DashTrialDetail,
  type DashWorker,
} from '../../shared/dashboard.js';
import { CurvesCache } from './curves-cache.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ExperimentKey, ListedExperiment } from '../store/base.js';
import type { ExperimentDoc, MetricDoc, TrialDoc } from '../../shared/types.js';

type DashChild = { experiment: DashExperiment; trials: DashTrial[] };

const STATUSES: readonly ExperimentStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
/** The list shows the newest experiments only. */
export const LIST_LIMIT = 500;
/** Experiments a name filter looks through at most (newest first); past them the list is `truncated`. */
export const NAME_SCAN = 10 * LIST_LIMIT;

export class DashboardApi {
  /** Curves read once per experiment and kept up to date from its event log (curves-cache.ts). */
  readonly curvesCache: CurvesCache;

  constructor(private readonly coordinator: Coordinator) {
    this.curvesCache = new CurvesCache(coordinator.store);
  }

  async experiments(query: URLSearchParams): Promise<{ experiments: DashExperiment[]; truncated: boolean }> {
    const status = (query.get('status') ?? '').split(',').filter(Boolean);
    for (const s of status) {
      if (!STATUSES.includes(s as ExperimentStatus))
        throw new InvalidArgumentError([`status: unknown status ${s}; allowed: ${STATUSES.join(', ')}`]);
    }
    const name = (query.get('name') ?? '').toLowerCase();
    // Read a page at a time, without specs (only their budget, for progress): the list costs the
    // same however many experiments are stored. A name filter scans at most NAME_SCAN of them.
    const shown: ListedExperiment[] = [];
    let after: ExperimentKey | undefined;
    let scanned = 0;
    let truncated = false;
    for (;;) {
      const limit = name ? Math.min(LIST_LIMIT, NAME_SCAN - scanned) : LIST_LIMIT;
      const page = await this.coordinator.experimentsPage({
        ...(status.length > 0 ? { status: status as ExperimentStatus[] } : {}),
        ...(after ? { after } : {}),
        limit,
        spec: 'budget',
      });
      scanned += page.items.length;
      let overflow = false;
      for (const e of page.items) {
        if (name && !(e.name.toLowerCase().includes(name) || e.id.includes(name))) continue;
        if (shown.length === LIST_LIMIT) {
          overflow = true;
          break;
        }
        shown.push(e);
      }
      const last = page.items.at(-1);
      const stop = !page.more || !last || overflow || !name || scanned >= NAME_SCAN;
      // More exist beyond what is shown: a match left out, or unread experiments (which may match).
      truncated = overflow || (page.more && (!name || scanned >= NAME_SCAN || shown.length === LIST_LIMIT));
      if (stop) break;
      after = { createdAt: last.createdAt, id: last.id };
    }
    // Progress from the trials counted by status: no trial is read.
    const counts = await this.coordinator.store.trialCounts(shown.filter((e) => e.kind === 'Sweep').map((e) => e.id));
    const experiments = shown.map((e): DashExperiment => {
      const { requestId: _requestId, spec, ...rest } = e;
      void _requestId;
      const view: DashExperiment = { ...rest, spec: (spec ?? {}) as Record<string, unknown> };
      const byStatus = counts.get(e.id);
      return byStatus ? { ...view, progress: progressOfCounts(byStatus, budgetOf(spec ?? {})) } : view;
    });
    return { experiments, truncated };
  }

  /**
   * One experiment with its trials and `seq`, the last event already reflected in them: a page
   * follows the live stream from there (state is stored before its event is logged).
   */
  async experiment(
    id: string,
  ): Promise<{ experiment: DashExperiment; trials: DashTrial[]; seq: number; children?: DashChild[] }> {
    const seq = await this.coordinator.store.lastEventSeq(requireId(id));
    const doc = await this.coordinator.get(id);
    const trials = await this.coordinator.store.listTrials(id);
    const children = doc.kind === 'Pipeline' ? await this.childrenOf(doc.stages) : [];
    return {
      experiment: toDashExperiment(doc, doc.kind === 'Sweep' ? trials : undefined),
      trials: trials.map(toDashTrial),
      seq,
      ...(children.length > 0 ? { children } : {}),
    };
  }

  /**
   * Curves of every trial; `metrics=a,b` limits the values carried (default: all), `first=1` carries
   * what a sweep page loads first (every metric up to FIRST_ALL trials, else the objective's only),
   * so the page can ask for its curves before it has read the experiment.
   */
  async curves(id: string, query: URLSearchParams): Promise<DashCurves> {
    return this.curvesCache.curves(id, await this.carried(id, query));
  }

  /**
   * The same curves in the binary form of shared/curves-codec.ts, with the event seq they reflect
   * (sent as `x-trellis-seq`: a page follows the events from there).
   */
  async curvesBinary(id: string, query: URLSearchParams): Promise<{ bytes: Uint8Array; seq: number }> {
    return this.curvesCache.binary(id, await this.carried(id, query));
  }

  private async carried(id: string, query: URLSearchParams): Promise<string[] | undefined> {
    const doc = await this.coordinator.get(requireId(id)); // NOT_FOUND for an unknown experiment
    const first = query.get('first');
    if (first !== null && first !== '1')
      throw new InvalidArgumentError([`first: must be 1, got ${first.slice(0, 20)}`]);
    if (first === null) return query.get('metrics')?.split(',').filter(Boolean);
    if (doc.trialsCreated <= FIRST_ALL) return undefined;
    return [objectiveOf(doc.spec as Record<string, unknown>).metric];
  }

  async trial(id: string): Promise<{ trial: DashTrialDetail; experiment: DashExperiment; curves: DashCurves }> {
    const trial = await this.coordinator.store.getTrial(requireId(id));
    if (!trial) throw new NotFoundError(`trial ${id} not found`);
    const experiment = await this.coordinator.get(trial.experimentId);
    return {
      trial,
      experiment: toDashExperiment(experiment),
      curves: curvesOf(await this.metricRows([trial])),
    };
  }

  /** An attempt's log (the latest attempt unless `attempt=N`), redacted as over gRPC. */
  async log(id: string, query: URLSearchParams): Promise<{ log: DashLog }> {
    const { trial, experiment } = await this.coordinator.trial(requireId(id));
    const wanted = query.get('attempt');
    const n = wanted === null ? trial.attempts.length : Number(wanted);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError([`attempt: must be a whole number >= 1, got ${String(wanted).slice(0, 20)}`]);
    return { log: await this.coordinator.logs.read(trial, experiment, n) };
  }

  async workers(): Promise<{ workers: DashWorker[] }> {
    const live = new Map(this.coordinator.dispatcher.usage().map((u) => [u.id, u]));
    const docs = await this.coordinator.store.listWorkers();
    return {
      workers: docs.map((doc) => {
        const usage = doc.status === 'disconnected' ? undefined : live.get(doc.id);
        return usage ? { ...doc, live: usage } : doc;
      }),
    };
  }

  /** Each stage's sweep, with the trials of its best configuration (the seeds of an arm's error bar). */
  private async childrenOf(stages: ExperimentDoc['stages']): Promise<DashChild[]> {
    const out: DashChild[] = [];
    for (const stage of Object.values(stages ?? {})) {
      if (!stage.childId) continue;
      const child = await this.coordinator.store.getExperiment(stage.childId);
      if (!child) continue;
      const trials = await this.coordinator.store.listTrials(child.id);
      const k = replicatesOf(child.spec);
      const best = child.best ? Math.floor(child.best.number / k) : undefined;
      out.push({
        experiment: toDashExperiment(child, trials),
        trials: trials.filter((t) => Math.floor(t.number / k) === best).map(toDashTrial),
      });
    }
    return out;
  }

  private async metricRows(trials: readonly TrialDoc[]): Promise<{ trialNumber: number; doc: MetricDoc }[]> {
    const rows: { trialNumber: number; doc: MetricDoc }[] = [];
    for (const trial of trials) {
      for (const doc of await this.coordinator.store.listMetrics(trial.id))
        rows.push({ trialNumber: trial.number, doc });
    }
    return rows;
  }
}

function requireId(id: string): string {
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(id)) {
    throw new InvalidArgumentError([
      `id: must be 1-200 letters, digits or . _ : -, got ${JSON.stringify(id.slice(0, 40))}`,
    ]);
  }
  return id;
}
