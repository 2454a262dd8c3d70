/**
 * The dashboard's JSON API: reads of the same store the gRPC service reads, shaped by
 * shared/dashboard.ts. Every answer is a plain JSON document; errors go through the server's one
 * mapping (gRPC code → HTTP status).
 */
import type { Coordinator } from '../coordinator.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors.js';
import {
  budgetOf,
  curvesOf,
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
import { encodeCurves } from '../../shared/curves-codec.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ExperimentKey, ListedExperiment } from '../store/base.js';
import type { ExperimentDoc, MetricDoc, TrialDoc } from '../../shared/types.js';

type DashChild = { experiment: DashExperiment; trials: DashTrial[] };

const STATUSES: readonly ExperimentStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
/** The list shows the newest experiments only. */
export const LIST_LIMIT = 500;
/** Experiments a name filter looks through at most (newest first); past them the list is `truncated`. */
export const NAME_SCAN = 10 * LIST_LIMIT;
/** Metric reads in flight at once while gathering curves. */
const METRIC_READS = 16;
/** Encoded curves kept (least recently used dropped first), and their total size. */
const CURVES_CACHED = 4;
const CURVES_CACHE_BYTES = 128 * 1024 * 1024;

export class DashboardApi {
  /**
   * Binary curves by `experiment|metrics`, valid while the experiment's last event seq is the one
   * they were read at: every stored metric is followed by its `trial.metric` event, so an unchanged
   * seq means unchanged curves. A finished sweep's page then opens without re-reading its metrics.
   */
  private readonly curvesCache = new Map<string, { seq: number; bytes: Uint8Array }>();

  constructor(private readonly coordinator: Coordinator) {}

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

  /** Curves of every trial; `metrics=a,b` limits the values carried (default: all). */
  async curves(id: string, query: URLSearchParams): Promise<DashCurves> {
    const trials = await this.coordinator.trials(requireId(id));
    const only = query.get('metrics')?.split(',').filter(Boolean);
    return curvesOf(await this.metricRows(trials), only);
  }

  /** The same curves in the binary form of shared/curves-codec.ts. */
  async curvesBinary(id: string, query: URLSearchParams): Promise<Uint8Array> {
    const key = `${requireId(id)}|${query.get('metrics') ?? '*'}`;
    const seq = await this.coordinator.store.lastEventSeq(id);
    const hit = this.curvesCache.get(key);
    if (hit && hit.seq === seq) {
      this.curvesCache.delete(key);
      this.curvesCache.set(key, hit);
      return hit.bytes;
    }
    const bytes = encodeCurves(await this.curves(id, query));
    this.curvesCache.set(key, { seq, bytes });
    let total = 0;
    for (const entry of this.curvesCache.values()) total += entry.bytes.length;
    for (const [k, entry] of this.curvesCache) {
      if (this.curvesCache.size <= CURVES_CACHED && total <= CURVES_CACHE_BYTES) break;
      this.curvesCache.delete(k);
      total -= entry.bytes.length;
    }
    return bytes;
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
    for (let i = 0; i < trials.length; i += METRIC_READS) {
      const batch = trials.slice(i, i + METRIC_READS);
      const lists = await Promise.all(batch.map((t) => this.coordinator.store.listMetrics(t.id)));
      lists.forEach((docs, j) => {
        for (const doc of docs) rows.push({ trialNumber: batch[j]!.number, doc });
      });
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
