/**
 * What the web dashboard reads: the JSON shapes of the coordinator's HTTP API
 * (coordinator/http/) and of the snapshot embedded in a static HTML report (cli/report-html.ts).
 * Both are made here from the stored documents, so a page draws a live experiment and a
 * report the same way. Pure: imported by the browser bundle too.
 */
import type { ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from './types.js';
import { redactEnv } from './redact.js';
import type { TrialStatus } from './states.js';

export interface DashProgress {
  total: number;
  done: number;
  running: number;
  pending: number;
  succeeded: number;
  pruned: number;
  failed: number;
}

/** An experiment as the dashboard shows it: the document less the request id, plus progress. */
/** An experiment as the page sees it: JSON, so the spec is read field by field, not trusted to a type. */
export type DashExperiment = Omit<ExperimentDoc, 'requestId' | 'spec'> & {
  spec: Record<string, unknown>;
  progress?: DashProgress;
};

/**
 * A trial as an experiment page lists it: the stored document less the per-attempt history, runtime
 * facts, checkpoint and lineage (the trial page reads those whole, `DashTrialDetail`), plus how
 * many attempts it took. A 10,000-trial sweep's list is then about half the size.
 */
export type DashTrial = Omit<TrialDoc, 'attempts' | 'info' | 'checkpoint' | 'lineage'> & { attemptCount: number };

/** A trial with everything stored about it (the trial page). */
export type DashTrialDetail = TrialDoc;

export function toDashTrial(doc: TrialDoc): DashTrial {
  const { attempts, info: _info, checkpoint: _checkpoint, lineage: _lineage, ...rest } = doc;
  void _info;
  void _checkpoint;
  void _lineage;
  return { ...rest, attemptCount: attempts.length };
}

/**
 * A sweep page's first curves carry every metric up to this many trials, the objective's only
 * above (the API's `curves?first=1`); a page left open drops the other metrics' values when its
 * sweep grows past it, so it holds what a fresh load holds.
 */
export const FIRST_ALL = 500;

/**
 * Learning curves, columnar: `steps[n]` are trial n's steps (ascending, each once — the latest
 * attempt's report wins, as in ExportMetrics), `values[metric][n]` the values at those
 * steps (null where the metric was not reported at that step).
 */
export interface DashCurves {
  /** The experiment's last event seq these curves reflect (the API's binary answer says it). */
  seq?: number;
  metrics: string[];
  steps: Record<number, number[]>;
  values: Record<string, Record<number, (number | null)[]>>;
}

/**
 * One attempt's program output as `trellis logs` shows it (coordinator/attempt-logs.ts): the first
 * and last lines kept, what was left out between them counted, env values redacted.
 */
export interface DashLog {
  attempt: number;
  attemptId: string;
  running: boolean;
  head: string[];
  tail: string[];
  omittedLines: number;
  omittedBytes: number;
  totalLines: number;
  totalBytes: number;
}

export interface DashWorker extends WorkerDoc {
  /** Live from the dispatcher while the worker is connected to this coordinator. */
  live?: { usedCpus: number; usedGpus: string[]; running: number; accepting: boolean; attempts: string[] };
}

/** Everything a static report draws: the experiment and, for a pipeline, its stages' sweeps. */
export interface DashSnapshot {
  createdAt: number;
  root: string;
  experiments: Record<string, { experiment: DashExperiment; trials: DashTrialDetail[]; curves: DashCurves }>;
}

export function progressOf(trials: readonly TrialDoc[], total: number): DashProgress {
  const p: DashProgress = { total, done: 0, running: 0, pending: 0, succeeded: 0, pruned: 0, failed: 0 };
  for (const t of trials) {
    if (t.status === 'running') p.running++;
    else if (t.status === 'pending') p.pending++;
    else {
      p.done++;
      if (t.status === 'succeeded') p.succeeded++;
      else if (t.status === 'pruned') p.pruned++;
      else if (t.status === 'failed') p.failed++;
    }
  }
  return p;
}

/** The same progress from trials counted by status (the list's: no trial is read). */
export function progressOfCounts(counts: Partial<Record<TrialStatus, number>>, total: number): DashProgress {
  const n = (s: TrialStatus): number => counts[s] ?? 0;
  const p: DashProgress = {
    total,
    done: 0,
    running: n('running'),
    pending: n('pending'),
    succeeded: n('succeeded'),
    pruned: n('pruned'),
    failed: n('failed'),
  };
  for (const [status, count] of Object.entries(counts))
    if (status !== 'running' && status !== 'pending') p.done += count;
  return p;
}

/** The trial budget of a sweep's spec (0 for a pipeline or when unset). */
export function budgetOf(spec: object): number {
  const budget = (spec as { budget?: unknown }).budget as { trials?: unknown } | undefined;
  return typeof budget?.trials === 'number' ? budget.trials : 0;
}

export function toDashExperiment(doc: ExperimentDoc, trials?: readonly TrialDoc[]): DashExperiment {
  const { requestId: _requestId, spec, ...rest } = doc;
  void _requestId;
  // trial.env values never leave the coordinator (shared/redact.ts), here no more than over gRPC.
  const view = { ...rest, spec: redactEnv(spec) as Record<string, unknown> };
  return trials ? { ...view, progress: progressOf(trials, budgetOf(spec)) } : view;
}

/**
 * Curves from per-step metric documents of several trials. A step reported by several attempts
 * keeps the latest attempt's values. `only` limits the metrics carried (all when undefined).
 */
export function curvesOf(
  rows: Iterable<{ trialNumber: number; doc: MetricDoc }>,
  only?: readonly string[],
): DashCurves {
  const byTrial = new Map<number, Map<number, MetricDoc>>();
  const names = new Set<string>();
  for (const { trialNumber, doc } of rows) {
    let steps = byTrial.get(trialNumber);
    if (!steps) byTrial.set(trialNumber, (steps = new Map<number, MetricDoc>()));
    const seen = steps.get(doc.step);
    if (!seen || doc.attempt >= seen.attempt) steps.set(doc.step, doc);
    for (const name of Object.keys(doc.values)) names.add(name);
  }
  const metrics = [...names].sort();
  // A requested metric is carried even before anything reported it: a live page fills it in.
  const carried = only ? [...new Set(only)].sort() : metrics;
  const curves: DashCurves = { metrics, steps: {}, values: Object.fromEntries(carried.map((m) => [m, {}])) };
  for (const [n, steps] of byTrial) {
    const docs = [...steps.values()].sort((a, b) => a.step - b.step);
    curves.steps[n] = docs.map((d) => d.step);
    for (const m of carried) {
      curves.values[m]![n] = docs.map((d) => (typeof d.values[m] === 'number' ? d.values[m] : null));
    }
  }
  return curves;
}

export interface Objective {
  metric: string;
  mode: 'min' | 'max';
}

/**
 * The objective of a stored spec; for a multi-objective sweep (a list) the first one — what
 * views that rank by one number show (the front itself is the experiment's `pareto`).
 */
export function objectiveOf(spec: Record<string, unknown>): Objective {
  return objectivesOfSpec(spec)[0]!;
}

/** Every objective of a stored spec (one for a single-objective sweep). */
export function objectivesOfSpec(spec: Record<string, unknown>): Objective[] {
  const raw = (spec.trial as { objective?: unknown } | undefined)?.objective;
  const list = (Array.isArray(raw) ? raw : [raw]) as ({ metric?: string; mode?: string } | undefined)[];
  return list.map((o) => ({ metric: o?.metric ?? 'val_accuracy', mode: o?.mode === 'min' ? 'min' : 'max' }));
}

export function replicatesOf(spec: object): number {
  const k = ((spec as { search?: unknown }).search as { replicates?: unknown } | undefined)?.replicates;
  return typeof k === 'number' && Number.isInteger(k) && k > 1 ? k : 1;
}
