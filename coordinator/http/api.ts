/**
 * The dashboard's JSON API: reads of the same store the gRPC service reads, shaped by
 * shared/dashboard.ts. Every answer is a plain JSON document; errors go through the server's one
 * mapping (gRPC code → HTTP status).
 */
import type { Coordinator } from '../coordinator.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors.js';
import {
  curvesOf,
  replicatesOf,
  toDashExperiment,
  toDashTrial,
  type DashCurves,
  type DashExperiment,
  type DashTrial,
  type DashTrialDetail,
  type DashWorker,
} from '../../shared/dashboard.js';
import { encodeCurves } from '../../shared/curves-codec.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ExperimentDoc, MetricDoc, TrialDoc } from '../../shared/types.js';

type DashChild = { experiment: DashExperiment; trials: DashTrial[] };

const STATUSES: readonly ExperimentStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
/** The list shows the newest experiments only. */
export const LIST_LIMIT = 500;
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
    const all = await this.coordinator.list(status as ExperimentStatus[]);
    const matching = name ? all.filter((e) => e.name.toLowerCase().includes(name) || e.id.includes(name)) : all;
    const shown = matching.slice(0, LIST_LIMIT);
    const experiments: DashExperiment[] = [];
    for (const doc of shown) {
      experiments.push(
        toDashExperiment(doc, doc.kind === 'Sweep' ? await this.coordinator.store.listTrials(doc.id) : undefined),
      );
    }
    return { experiments, truncated: matching.length > shown.length };
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
