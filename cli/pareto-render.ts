/**
 * A multi-objective sweep's Pareto front as text, Markdown or JSON (`trellis report`, and the
 * leaderboard `trellis status` and `trellis run` print).
 */
import type { ExperimentView } from '../shared/convert.js';
import type { ParetoFront } from '../shared/types.js';
import { FRONT_LIMIT } from '../shared/pareto.js';

function num(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(3) : value.toFixed(4);
}

function cell(front: ParetoFront, p: ParetoFront['points'][number], i: number): string {
  const ci = p.ci?.[i];
  return ci !== undefined ? `${num(p.values[i]!)} ± ${num(ci)}` : num(p.values[i]!);
}

function params(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : JSON.stringify(v)}`)
    .join(' ');
}

function header(front: ParetoFront): string[] {
  return ['trial', ...front.metrics.map((m, i) => `${m} (${front.modes[i]})`), 'params'];
}

function rows(front: ParetoFront): string[][] {
  return front.points.map((p) => [
    String(p.number),
    ...front.metrics.map((_, i) => cell(front, p, i)),
    params(p.params),
  ]);
}

function summary(front: ParetoFront): string {
  const seeds = front.points.some((p) => p.replicates !== undefined) ? '; values are means over seeds ± 95% CI' : '';
  const thinned = front.thinned
    ? `; ${front.thinned} more non-dominated configurations thinned out (the front keeps at most ${FRONT_LIMIT}, the most crowded go first)`
    : '';
  return (
    `Pareto front: ${front.points.length} of ${front.configurations} configurations; ` +
    `hypervolume ${num(front.hypervolume)} (reference ${front.reference.map(num).join(', ')}, ` +
    `${front.referenceSource === 'spec' ? 'trial.objectiveReference' : 'nadir of the measured configurations'})${seeds}${thinned}`
  );
}

/**
 * What a multi-objective sweep without a front says instead of staying silent: which
 * objectives no succeeded trial reported (a typo in a metric name, a split without groups).
 */
export function noFrontLine(
  objectives: readonly { metric: string }[],
  trials: readonly { status: string; metrics: Record<string, number> }[],
): string {
  const succeeded = trials.filter((t) => t.status === 'succeeded');
  if (succeeded.length === 0) return 'Pareto front: none yet (no trial has succeeded)';
  const never = objectives.filter((o) => !succeeded.some((t) => Number.isFinite(t.metrics[o.metric])));
  const why =
    never.length > 0
      ? `no succeeded trial reported ${never.map((o) => o.metric).join(', ')}`
      : 'no succeeded trial reported every objective';
  return `Pareto front: none: ${why} (of ${succeeded.length} succeeded)`;
}

/** The lines the sweep leaderboard ends with. */
export function frontLines(front: ParetoFront): string[] {
  const table = [header(front), ...rows(front)];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  return [
    summary(front),
    ...table.map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    ),
  ];
}

/** `trellis report` for a multi-objective sweep. */
export function frontReport(experiment: ExperimentView, front: ParetoFront, markdown: boolean): string {
  const title = `${experiment.name} (${experiment.id}): ${experiment.status}`;
  if (!markdown) return [title, ...frontLines(front)].join('\n');
  const h = header(front);
  return [
    `**${title}**`,
    '',
    summary(front),
    '',
    `| ${h.join(' | ')} |`,
    `| ${h.map(() => '---').join(' | ')} |`,
    ...rows(front).map((r) => `| ${r.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`),
  ].join('\n');
}
