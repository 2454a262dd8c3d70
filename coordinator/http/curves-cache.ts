/**
 * The dashboard's curves of an experiment, read from the store once and then kept up to date from
 * its event log: every stored metric row is followed by its `trial.metric` event (state first,
 * then event), so the events after the seq a model was read at are exactly what it is missing.
 * A page opened on a running sweep then gets its curves without re-reading a million metric rows,
 * and a finished sweep's page without any read at all.
 *
 * Pulled, not pushed: a request compares the store's last seq with the model's and applies the
 * `trial.metric` events in between (from the store, so events written by another coordinator on
 * the same store count too). Applying a point is idempotent and follows the store's rules (the
 * first report of an (attempt, step) wins; a later attempt's report replaces an earlier one's),
 * so a point both read from the store and replayed from its event is counted once.
 *
 * Bounded: at most `MODELS` experiments (least recently used dropped first) and `MODEL_POINTS`
 * stored values in all; a model further behind than `REBUILD_GAP` events is read afresh.
 */
import type { Store } from '../store/base.js';
import { encodeCurves } from '../../shared/curves-codec.js';
import type { DashCurves } from '../../shared/dashboard.js';
import type { MetricDoc } from '../../shared/types.js';

const MODELS = 4;
const MODEL_POINTS = 16_000_000;
const REBUILD_GAP = 50_000;
/** Metric reads in flight at once while reading a model. */
const METRIC_READS = 16;

interface TrialCurve {
  steps: number[];
  /** The attempt each step's values came from. */
  attempts: number[];
  /** Values by metric, aligned with `steps` (null: not reported at that step). */
  values: Map<string, (number | null)[]>;
}

interface Model {
  /** The experiment's last event seq reflected here. */
  seq: number;
  metrics: Set<string>;
  trials: Map<number, TrialCurve>;
  points: number;
  /** Encoded answers by carried-metrics key, dropped whenever a point changes. */
  encoded: Map<string, Uint8Array>;
}

export class CurvesCache {
  private readonly models = new Map<string, Model>();
  /** One refresh per experiment at a time (a second request waits for and reuses the first's). */
  private readonly refreshing = new Map<string, Promise<Model>>();
  /** Models read from the store, for tests and the bench. */
  reads = 0;

  constructor(private readonly store: Store) {}

  /** Curves of every trial; `only` limits the metrics whose values are carried (all are listed). */
  async curves(experimentId: string, only?: readonly string[]): Promise<DashCurves> {
    return viewOf(await this.model(experimentId), only);
  }

  /**
   * The same in the binary form of shared/curves-codec.ts (encoded once per model change), with
   * the last event seq they reflect.
   */
  async binary(experimentId: string, only?: readonly string[]): Promise<{ bytes: Uint8Array; seq: number }> {
    const model = await this.model(experimentId);
    const key = only ? [...new Set(only)].sort().join(',') : '*';
    let bytes = model.encoded.get(key);
    if (!bytes) {
      bytes = encodeCurves(viewOf(model, only));
      model.encoded.set(key, bytes);
    }
    return { bytes, seq: model.seq };
  }

  private model(experimentId: string): Promise<Model> {
    const running = this.refreshing.get(experimentId);
    if (running) return running;
    const next = this.refresh(experimentId).finally(() => this.refreshing.delete(experimentId));
    this.refreshing.set(experimentId, next);
    return next;
  }

  private async refresh(experimentId: string): Promise<Model> {
    const seq = await this.store.lastEventSeq(experimentId);
    let model = this.models.get(experimentId);
    if (model && model.seq < seq && seq - model.seq <= REBUILD_GAP) {
      for (const event of await this.store.listEvents(experimentId, model.seq + 1)) {
        if (event.type !== 'trial.metric' || event.trialNumber === undefined) continue;
        const p = event.payload as { step?: unknown; attempt?: unknown; values?: unknown };
        if (typeof p.step !== 'number' || typeof p.values !== 'object' || p.values === null) continue;
        const attempt = typeof p.attempt === 'number' ? p.attempt : 1;
        if (add(model, event.trialNumber, attempt, p.step, p.values as Record<string, unknown>)) model.encoded.clear();
      }
      model.seq = Math.max(model.seq, seq);
    } else if (!model || model.seq < seq) {
      model = await this.read(experimentId, seq);
    }
    this.models.delete(experimentId);
    this.models.set(experimentId, model);
    let points = 0;
    for (const m of this.models.values()) points += m.points;
    for (const [id, m] of this.models) {
      if (m === model || (this.models.size <= MODELS && points <= MODEL_POINTS)) break;
      this.models.delete(id);
      points -= m.points;
    }
    return model;
  }

  /** Reads every trial's metrics; `seq` was read before them, so nothing stored after it is missed. */
  private async read(experimentId: string, seq: number): Promise<Model> {
    this.reads++;
    const model: Model = { seq, metrics: new Set(), trials: new Map(), points: 0, encoded: new Map() };
    const trials = await this.store.listTrials(experimentId);
    for (let i = 0; i < trials.length; i += METRIC_READS) {
      const batch = trials.slice(i, i + METRIC_READS);
      const lists = await Promise.all(batch.map((t) => this.store.listMetrics(t.id)));
      lists.forEach((docs, j) => readTrial(model, batch[j]!.number, docs));
    }
    return model;
  }
}

/** A trial's stored rows (sorted by attempt, then step) into the model, in one pass. */
function readTrial(model: Model, n: number, docs: readonly MetricDoc[]): void {
  if (docs.length === 0) return;
  // Rows of one attempt in step order append; a later attempt's rows go through `add`.
  const first = docs[0]!.attempt;
  if (docs.every((d) => d.attempt === first)) {
    const names = new Set<string>();
    for (const d of docs) for (const name of Object.keys(d.values)) names.add(name);
    const values = new Map<string, (number | null)[]>();
    for (const name of names) {
      model.metrics.add(name);
      values.set(
        name,
        docs.map((d) => (typeof d.values[name] === 'number' ? d.values[name] : null)),
      );
    }
    model.trials.set(n, { steps: docs.map((d) => d.step), attempts: docs.map(() => first), values });
    model.points += docs.length * names.size;
    return;
  }
  for (const d of docs) add(model, n, d.attempt, d.step, d.values);
}

/** One reported point; true when the model changed. */
function add(model: Model, n: number, attempt: number, step: number, reported: Record<string, unknown>): boolean {
  let trial = model.trials.get(n);
  if (!trial) model.trials.set(n, (trial = { steps: [], attempts: [], values: new Map() }));
  const { steps } = trial;
  // Reports mostly come in step order: look from the end.
  let i = steps.length;
  while (i > 0 && steps[i - 1]! > step) i--;
  const at = i > 0 && steps[i - 1] === step ? i - 1 : -1;
  if (at >= 0 && trial.attempts[at]! >= attempt) return false; // the first report of an attempt wins
  const names = Object.keys(reported).filter((k) => typeof reported[k] === 'number');
  for (const name of names) {
    if (trial.values.has(name)) continue;
    model.metrics.add(name);
    trial.values.set(name, new Array<number | null>(steps.length).fill(null));
    model.points += steps.length;
  }
  if (at >= 0) {
    trial.attempts[at] = attempt;
    for (const [name, ys] of trial.values) ys[at] = typeof reported[name] === 'number' ? reported[name] : null;
  } else {
    steps.splice(i, 0, step);
    trial.attempts.splice(i, 0, attempt);
    for (const [name, ys] of trial.values) ys.splice(i, 0, typeof reported[name] === 'number' ? reported[name] : null);
    model.points += trial.values.size;
  }
  return true;
}

/** The model as DashCurves (arrays shared, not copied: encode or serialise it, do not change it). */
function viewOf(model: Model, only?: readonly string[]): DashCurves {
  const metrics = [...model.metrics].sort();
  // A requested metric is carried even before anything reported it: a live page fills it in.
  const carried = only ? [...new Set(only)].sort() : metrics;
  const curves: DashCurves = { metrics, steps: {}, values: Object.fromEntries(carried.map((m) => [m, {}])) };
  const numbers = [...model.trials.keys()].sort((a, b) => a - b);
  for (const n of numbers) {
    const trial = model.trials.get(n)!;
    if (trial.steps.length === 0) continue;
    curves.steps[n] = trial.steps;
    for (const m of carried) {
      curves.values[m]![n] = trial.values.get(m) ?? new Array<number | null>(trial.steps.length).fill(null);
    }
  }
  return curves;
}
