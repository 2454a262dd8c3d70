/**
 * What the CLI shows people: live progress (bars on a terminal, lines otherwise) and the
 * leaderboard. Everything here writes to stderr except the leaderboard and JSON, which go to
 * stdout.
 */
import cliProgress from 'cli-progress';
import type { ExperimentView, TrialView } from '../shared/convert.js';
import type { TrellisEvent } from '../shared/events.js';
import type { ParetoFront, StageState } from '../shared/types.js';
import { objectiveOf, objectivesOfSpec } from '../shared/dashboard.js';
import { frontLines, noFrontLine } from './pareto-render.js';

export interface RunDocument {
  experiment: { id: string; name: string; kind: string; status: string; owner?: string; error?: string };
  trials: {
    id: string;
    number: number;
    status: string;
    params: Record<string, unknown>;
    metrics: Record<string, number>;
    attempts: number;
    worker: string;
    backend?: string;
    error?: string;
    pendingReason?: string;
    stepWarnings?: { count: number; last: string };
  }[];
  best: {
    trialId: string;
    params: Record<string, unknown>;
    metric: string;
    value: number;
    ci?: number;
    replicates?: number;
  } | null;
  /** Multi-objective sweeps: the Pareto front and its hypervolume. */
  pareto?: ParetoFront;
  stages?: Record<string, unknown>;
}

/** The one JSON document of `run|submit --wait|status --json`. */
export function runDocument(experiment: ExperimentView, trials: TrialView[]): RunDocument {
  return {
    experiment: {
      id: experiment.id,
      name: experiment.name,
      kind: experiment.kind,
      status: experiment.status,
      ...(experiment.owner ? { owner: experiment.owner } : {}),
      ...(experiment.error ? { error: experiment.error } : {}),
    },
    trials: trialsDocument(trials),
    best: experiment.best
      ? {
          trialId: experiment.best.trialId,
          params: experiment.best.params,
          metric: experiment.best.metric,
          value: experiment.best.value,
          ...(experiment.best.ci !== undefined
            ? { ci: experiment.best.ci, replicates: experiment.best.replicates }
            : {}),
        }
      : null,
    ...(experiment.pareto ? { pareto: experiment.pareto } : {}),
    ...(experiment.stages ? { stages: stagesDocument(experiment.stages as Record<string, StageState>) } : {}),
  };
}

/** The trials of a JSON document: what a user compares, without the attempt details. */
export function trialsDocument(trials: TrialView[]): RunDocument['trials'] {
  return trials.map((t) => ({
    id: t.id,
    number: t.number,
    status: t.status,
    params: t.params,
    metrics: t.metrics,
    attempts: t.attempts,
    worker: t.worker,
    ...(typeof t.info?.backend === 'string' ? { backend: t.info.backend } : {}),
    ...(t.error ? { error: t.error } : {}),
    ...(t.pendingReason ? { pendingReason: t.pendingReason } : {}),
    ...(t.stepWarnings ? { stepWarnings: t.stepWarnings } : {}),
  }));
}

/** `trial 3: 2 reports refused for their step (latest: ...)` lines: refused reports are never silent. */
export function stepWarningLines(trials: TrialView[]): string[] {
  return trials
    .filter((t) => t.stepWarnings)
    .map(
      (t) =>
        `trial ${t.number}: ${t.stepWarnings!.count} report${t.stepWarnings!.count > 1 ? 's' : ''} refused for their step (latest: ${t.stepWarnings!.last})`,
    );
}

/** `waiting: trials 3, 4: <reason>` lines for trials no connected worker can run. */
export function pendingLines(trials: TrialView[]): string[] {
  const byReason = new Map<string, number[]>();
  for (const t of trials)
    if (t.pendingReason) byReason.set(t.pendingReason, [...(byReason.get(t.pendingReason) ?? []), t.number]);
  return [...byReason].map(
    ([reason, numbers]) => `waiting: trial${numbers.length > 1 ? 's' : ''} ${numbers.join(', ')}: ${reason}`,
  );
}

/** `stages: {NAME: {status, cached, metrics, outputs, best?}}` of a pipeline's JSON document. */
export function stagesDocument(stages: Record<string, StageState>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(stages).map(([name, s]) => [
      name,
      {
        status: s.status,
        cached: s.cached,
        metrics: s.metrics ?? {},
        outputs: summariseOutputs(s.outputs ?? {}),
        ...(s.best
          ? { best: { trialId: s.best.trialId, params: s.best.params, metric: s.best.metric, value: s.best.value } }
          : {}),
        ...(s.childId ? { experimentId: s.childId } : {}),
        attempt: s.attempt,
        ...(s.error ? { error: s.error } : {}),
      },
    ]),
  );
}

/** Long arrays (weights, index lists) are shown by size, not spelled out. */
function summariseOutputs(outputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(outputs).map(([k, v]) => {
      const json = JSON.stringify(v) ?? '';
      if (json.length <= 512) return [k, v];
      return [k, Array.isArray(v) ? { length: v.length } : { bytes: json.length }];
    }),
  );
}

/**
 * The comparison table of a pipeline's arms: every stage that reported test metrics, with
 * those metrics as columns.
 */
export function armsReport(experiment: ExperimentView, markdown: boolean): string {
  const stages = (experiment.stages ?? {}) as Record<string, StageState>;
  const arms = Object.entries(stages).filter(([, s]) =>
    Object.keys(s.metrics ?? {}).some((m) => m.startsWith('test_')),
  );
  const columns = [
    ...new Set(
      arms.flatMap(([, s]) => Object.keys(s.metrics ?? {}).filter((m) => m.startsWith('test_') && !m.includes('.'))),
    ),
  ].sort();
  const header = ['arm', 'status', 'cached', ...columns];
  const rows = arms.map(([name, s]) => [
    name,
    s.status,
    s.cached ? 'yes' : 'no',
    ...columns.map((c) => formatValue(s.metrics?.[c] ?? '-')),
  ]);
  const title = `${experiment.name} (${experiment.id}): ${experiment.status}`;
  if (rows.length === 0) return `${title}\nno stage has reported test metrics yet`;
  if (markdown) {
    return [
      `**${title}**`,
      '',
      `| ${header.join(' | ')} |`,
      `| ${header.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n');
  }
  return `${title}\n${table([header, ...rows])}`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(2) : value.toFixed(4);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function formatParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Trials ranked by the objective, best first. */
export function leaderboard(experiment: ExperimentView, trials: TrialView[]): string {
  const objective = objectiveOf(experiment.spec);
  const sign = objective.mode === 'max' ? -1 : 1;
  const ranked = [...trials].sort((a, b) => {
    const va = a.metrics[objective.metric];
    const vb = b.metrics[objective.metric];
    if (va === undefined) return 1;
    if (vb === undefined) return -1;
    return sign * (va - vb);
  });
  const extra = ['test_accuracy', 'val_loss'].filter(
    (m) => m !== objective.metric && trials.some((t) => t.metrics[m] !== undefined),
  );
  const rows = [['#', 'trial', 'status', objective.metric, ...extra, 'params']];
  ranked.forEach((t, i) =>
    rows.push([
      String(i + 1),
      String(t.number),
      t.status,
      formatValue(t.metrics[objective.metric] ?? '-'),
      ...extra.map((m) => formatValue(t.metrics[m] ?? '-')),
      formatParams(t.params),
    ]),
  );
  const lines = [`${experiment.name} (${experiment.id}): ${experiment.status}`, table(rows)];
  const objectives = objectivesOfSpec(experiment.spec);
  if (experiment.pareto) lines.push(...frontLines(experiment.pareto));
  else if (objectives.length > 1) lines.push(noFrontLine(objectives, trials));
  else if (experiment.best) {
    const ci =
      experiment.best.ci !== undefined
        ? ` ± ${formatValue(experiment.best.ci)} (95% CI over ${experiment.best.replicates} seeds)`
        : '';
    lines.push(
      `best: trial ${experiment.best.number} ${experiment.best.metric}=${formatValue(experiment.best.value)}${ci} ${formatParams(experiment.best.params)}`,
    );
  }
  lines.push(...pendingLines(trials), ...stepWarningLines(trials));
  if (experiment.error) lines.push(`error: ${experiment.error}`);
  return lines.join('\n');
}

/** Live progress from the event stream: a bar per running trial on a TTY, lines otherwise. */
export class ProgressView {
  private readonly multibar: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<number, cliProgress.SingleBar>();
  private totals: cliProgress.SingleBar | undefined;
  private readonly done = new Set<number>();
  private readonly stream = process.stderr;

  constructor(
    private readonly totalTrials: number,
    private readonly epochs: number,
    private readonly metric: string,
    enabled = true,
  ) {
    if (enabled && this.stream.isTTY) {
      this.multibar = new cliProgress.MultiBar(
        {
          stream: this.stream,
          format: ' {label} [{bar}] {value}/{total} {info}',
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          autopadding: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.totals = this.multibar.create(totalTrials, 0, { label: 'trials  ', info: '' });
    }
    this.enabled = enabled;
  }

  private readonly enabled: boolean;

  onEvent(event: TrellisEvent): void {
    if (!this.enabled) return;
    const n = event.trialNumber;
    if (event.type === 'trial.metric' && n !== undefined) {
      const { values, step } = event.payload;
      const value = values[this.metric];
      const info = value !== undefined ? `${this.metric}=${value.toFixed(4)}` : '';
      if (this.multibar) this.bar(n).update(Math.min(step, this.epochs), { info });
      else this.stream.write(`trial ${n} step ${step} ${info}\n`);
    } else if (event.type === 'stage.state') {
      const p = event.payload;
      const line = `stage ${event.stage} ${p.status}${p.cached ? ' (cached)' : ''}${p.error ? `: ${p.error}` : ''}`;
      if (this.multibar) this.multibar.log(`${line}\n`);
      else this.stream.write(`${line}\n`);
    } else if (event.type === 'trial.state' && n !== undefined && typeof event.payload.pendingReason === 'string') {
      const line = `trial ${n} waiting: ${event.payload.pendingReason}`;
      if (this.multibar) this.multibar.log(`${line}\n`);
      else this.stream.write(`${line}\n`);
    } else if (event.type === 'trial.state' && n !== undefined) {
      const status = event.payload.status;
      if (this.multibar) {
        const bar = this.bar(n);
        if (['succeeded', 'failed', 'pruned', 'cancelled'].includes(status)) {
          if (!this.done.has(n)) this.totals?.increment();
          this.done.add(n);
          bar.update({ info: status });
          bar.stop();
        }
      } else {
        this.stream.write(`trial ${n} ${status}${event.payload.error ? `: ${event.payload.error}` : ''}\n`);
      }
    }
  }

  stop(): void {
    this.multibar?.stop();
  }

  private bar(n: number): cliProgress.SingleBar {
    let bar = this.bars.get(n);
    if (!bar) {
      bar = this.multibar!.create(this.epochs, 0, { label: `trial ${String(n).padStart(3)}`, info: '' });
      this.bars.set(n, bar);
    }
    return bar;
  }
}

export function describeTrials(trials: TrialView[]): string {
  const rows = [['trial', 'status', 'attempts', 'worker', 'metrics', 'params']];
  for (const t of trials) {
    rows.push([
      String(t.number),
      t.status,
      String(t.attempts),
      t.worker || '-',
      Object.entries(t.metrics)
        .filter(([k]) => !k.includes('.'))
        .slice(0, 4)
        .map(([k, v]) => `${k}=${formatValue(v)}`)
        .join(' '),
      formatParams(t.params),
    ]);
  }
  return [table(rows), ...stepWarningLines(trials)].join('\n');
}

/** A pipeline's stages and then its arms table. */
export function pipelineSummary(experiment: ExperimentView): string {
  const stages = (experiment.stages ?? {}) as Record<string, StageState>;
  const rows = [['stage', 'status', 'cached', 'attempt', 'sweep']];
  for (const [name, s] of Object.entries(stages))
    rows.push([name, s.status, s.cached ? 'yes' : 'no', String(s.attempt), s.childId ?? '-']);
  const lines = [table(rows), '', armsReport(experiment, false)];
  if (experiment.error) lines.push(`error: ${experiment.error}`);
  return lines.join('\n');
}
