/**
 * A sweep: header, leaderboard, learning curves, optimisation history, parallel coordinates
 * (brushing filters the leaderboard), slices, importance, group metrics. Live: events are applied
 * to the page's model and the parts they touch are redrawn once per animation frame; the
 * whole-sweep charts (history, parallel coordinates, slices, importance) only when a trial's
 * final value changes, at most once a second.
 */
import { h, fmt, badge, duration, timings, afterPaint } from '../dom.js';
import { card } from '../charts/card.js';
import { CurvesChart } from '../charts/curves.js';
import { ParallelChart } from '../charts/parcoords.js';
import { HistoryChart, ImportanceChart, SlicesChart } from '../charts/analysis.js';
import { Leaderboard } from './leaderboard.js';
import { CancelControl } from './cancel.js';
import { groupMetrics, objectiveOf, replicatesOf } from '../stats.js';
import { FIRST_ALL, objectivesOfSpec } from '../../../shared/dashboard.js';
import type { ExperimentPage, Source } from '../source.js';
import type { DashCurves, DashExperiment, DashTrial } from '../../../shared/dashboard.js';
import type { TrellisEvent } from '../../../shared/events.js';

export async function sweepPage(
  source: Source,
  id: string,
  root: HTMLElement,
  first?: ExperimentPage,
  firstCurves?: Promise<DashCurves>,
): Promise<() => void> {
  const page = first ?? (await source.experiment(id));
  // Small sweeps load every metric; large ones the objective's first, another when picked.
  const curves = await (firstCurves ?? source.firstCurves(id));
  timings['fetch.curves'] = performance.now();
  const view = new SweepView(page.experiment, page.trials, curves, new CancelControl(source, id), async (metric) => {
    const more = await source.curves(id, [metric]);
    curves.values[metric] = more.values[metric] ?? {};
    for (const [n, steps] of Object.entries(more.steps)) curves.steps[Number(n)] = steps;
  });
  root.replaceChildren(view.el);
  view.mount();
  // The curves may be older than the experiment (they were asked for at the same time): follow
  // from the older of the two; replayed events are applied again harmlessly (a point replaces).
  const from = Math.min(page.seq, curves.seq ?? page.seq);
  view.el.dataset.seq = String(from);
  const stop = source.live ? source.follow(id, from, (event) => view.apply(event)) : () => undefined;
  return () => {
    stop();
    view.stop();
  };
}

class SweepView {
  readonly el: HTMLElement;
  private readonly trials = new Map<number, DashTrial>();
  private readonly header = h('div', { class: 'summary' });
  private readonly leaderboard: Leaderboard;
  private readonly curves: CurvesChart;
  private readonly history: HistoryChart;
  private readonly parallel: ParallelChart;
  private readonly slices: SlicesChart;
  private readonly importance: ImportanceChart;
  private readonly groups = h('div', {});
  private readonly touched = new Set<number>();
  private finishedChanged = false;
  private frame = 0;
  private heavyTimer: ReturnType<typeof setTimeout> | undefined;
  private lastHeavy = 0;
  /** The last event seq applied; drawn as `data-seq` by the next flush (tests wait for it). */
  private seq = 0;
  private readonly objective: string;
  /** The sweep has grown past FIRST_ALL trials and the curves kept the shown metrics' values only. */
  private trimmed = false;

  constructor(
    private experiment: DashExperiment,
    trials: DashTrial[],
    private readonly data: DashCurves,
    private readonly cancel: CancelControl,
    load: (metric: string) => Promise<void>,
  ) {
    for (const t of trials) this.trials.set(t.number, t);
    const objective = objectiveOf(experiment.spec);
    this.objective = objective.metric;
    const k = replicatesOf(experiment.spec);
    this.leaderboard = new Leaderboard(this.trials, objective, k);
    this.curves = new CurvesChart(data, this.trials, objective.metric, load);
    this.history = new HistoryChart(objective);
    this.parallel = new ParallelChart(objective, (numbers) => this.leaderboard.setFilter(numbers));
    this.slices = new SlicesChart(objective);
    this.importance = new ImportanceChart(objective);
    this.el = h(
      'div',
      { class: 'page sweep', 'data-page': 'sweep' },
      this.header,
      this.cancel.el,
      // Multi-objective sweeps: the board ranks by the first objective; the front is in the CLI.
      objectivesOfSpec(experiment.spec).length > 1
        ? h('p', { class: 'note' }, `multi-objective: ranked by ${objective.metric}; see the front in trellis report`)
        : '',
      this.leaderboard.el,
      h('div', { class: 'two' }, this.curves.el, this.history.el),
      this.parallel.el,
      h('div', { class: 'two' }, this.importance.el, this.slices.el),
      this.groups,
    );
  }

  mount(): void {
    const timed = (name: string, fn: () => void): void => {
      const started = performance.now();
      fn();
      timings[`mount.${name}`] = performance.now() - started;
    };
    timed('header', () => this.drawHeader());
    timed('leaderboard', () => this.leaderboard.mount());
    timed('curves', () => this.curves.rebuild());
    // History, parallel coordinates, slices and importance go over every trial: after first paint.
    afterPaint(() => timed('heavy', () => this.drawHeavy()));
  }

  stop(): void {
    cancelAnimationFrame(this.frame);
    clearTimeout(this.heavyTimer);
  }

  apply(event: TrellisEvent): void {
    this.seq = Math.max(this.seq, event.seq);
    if (event.type === 'experiment.state') {
      this.experiment = {
        ...this.experiment,
        status: event.payload.status as DashExperiment['status'],
        updatedAt: event.time,
      };
      if (typeof event.payload.error === 'string') this.experiment.error = event.payload.error;
    } else if (event.type === 'trial.state' && event.trialNumber !== undefined) {
      const n = event.trialNumber;
      const p = event.payload as {
        status: DashTrial['status'];
        params?: DashTrial['params'];
        metrics?: Record<string, number>;
        error?: string;
        workerId?: string;
        attempt?: number;
      };
      const known = this.trials.get(n);
      const trial: DashTrial = known ?? {
        id: event.trialId ?? `${event.experimentId}-${n}`,
        experimentId: this.experiment.id,
        number: n,
        status: p.status,
        params: p.params ?? {},
        seed: 0,
        attemptCount: 0,
        metrics: {},
        createdAt: event.time,
        updatedAt: event.time,
      };
      trial.status = p.status;
      if (p.params) trial.params = p.params;
      if (p.metrics) {
        trial.metrics = { ...trial.metrics, ...p.metrics };
        this.finishedChanged = true;
      }
      if (p.error) trial.error = p.error;
      if (p.attempt !== undefined) trial.attemptCount = Math.max(trial.attemptCount, p.attempt);
      trial.updatedAt = event.time;
      this.trials.set(n, trial);
      if (trial.status !== 'running' && trial.status !== 'pending') {
        this.finishedChanged = true;
        this.compact(n);
      }
      if (!known) this.trim();
      this.touched.add(n);
      this.curves.touch(n);
    } else if (event.type === 'trial.metric' && event.trialNumber !== undefined) {
      const n = event.trialNumber;
      const { step, values } = event.payload as { step: number; values: Record<string, number> };
      this.addPoint(n, step, values);
      const trial = this.trials.get(n);
      if (trial) {
        trial.metrics = { ...trial.metrics, ...values };
        trial.lastStep = Math.max(trial.lastStep ?? 0, step);
      }
      this.touched.add(n);
      this.curves.touch(n);
    }
    this.frame ||= requestAnimationFrame(() => this.flush());
  }

  private addPoint(n: number, step: number, values: Record<string, number>): void {
    const steps = (this.data.steps[n] ??= []);
    let i = steps.findIndex((s) => s >= step);
    const replace = i >= 0 && steps[i] === step;
    if (i < 0) i = steps.length;
    if (!replace) steps.splice(i, 0, step);
    for (const m of Object.keys(this.data.values)) {
      const ys = (this.data.values[m]![n] ??= new Array<number | null>(steps.length - (replace ? 0 : 1)).fill(null));
      const v = typeof values[m] === 'number' ? values[m] : null;
      if (replace) ys[i] = v;
      else ys.splice(i, 0, v);
    }
    // A metric nobody had reported when the page loaded is followed from its first point on.
    for (const m of Object.keys(values)) {
      if (this.data.metrics.includes(m)) continue;
      this.data.metrics.push(m);
      this.data.values[m] = { [n]: steps.map((s) => (s === step ? values[m]! : null)) };
    }
  }

  /**
   * A finished trial's curve arrays copied at their exact length. Grown a step at a time they keep
   * spare capacity (V8 grows an array to 1.5x + 16 elements), about 250 bytes per 100-step array,
   * which the arrays of a fresh load, made at their length, do not: a page left open held ~750
   * bytes more per finished trial (heap snapshots by bench/dashboard-heap-diff.ts).
   */
  private compact(n: number): void {
    const steps = this.data.steps[n];
    if (steps) this.data.steps[n] = steps.slice();
    for (const byTrial of Object.values(this.data.values)) {
      const ys = byTrial[n];
      if (ys) byTrial[n] = ys.slice();
    }
  }

  /**
   * Past FIRST_ALL trials a fresh load carries the objective's values only (others are fetched
   * when picked): a page opened on a smaller sweep drops the values of the metrics it does not
   * show when the sweep grows past it, as a fresh load of the same sweep would not hold them.
   */
  private trim(): void {
    if (this.trimmed || this.trials.size <= FIRST_ALL) return;
    this.trimmed = true;
    const keep = new Set([this.objective, this.curves.shown]);
    for (const m of Object.keys(this.data.values)) if (!keep.has(m)) delete this.data.values[m];
  }

  private flush(): void {
    const started = performance.now();
    this.frame = 0;
    this.drawHeader();
    this.leaderboard.update(this.touched);
    this.touched.clear();
    this.curves.flush();
    this.el.dataset.seq = String(this.seq);
    if (this.finishedChanged) {
      this.finishedChanged = false;
      const wait = Math.max(0, 1000 - (Date.now() - this.lastHeavy));
      this.heavyTimer ??= setTimeout(() => {
        this.heavyTimer = undefined;
        this.drawHeavy();
      }, wait);
    }
    timings.flush = performance.now() - started;
  }

  private drawHeavy(): void {
    this.lastHeavy = Date.now();
    const trials = [...this.trials.values()];
    const timed = (name: string, fn: () => void): void => {
      const started = performance.now();
      fn();
      timings[name] = performance.now() - started;
    };
    timed('history', () => this.history.update(trials));
    timed('parcoords', () => this.parallel.update(trials));
    timed('slices', () => this.slices.update(trials));
    timed('importance', () => this.importance.update(trials));
    timed('groups', () => this.drawGroups(trials));
  }

  private drawHeader(): void {
    const e = this.experiment;
    this.cancel.update(e.status);
    const counts: Record<string, number> = {};
    for (const t of this.trials.values()) counts[t.status] = (counts[t.status] ?? 0) + 1;
    const total = (e.spec.budget as { trials?: number } | undefined)?.trials ?? this.trials.size;
    const done = (counts.succeeded ?? 0) + (counts.pruned ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0);
    this.header.replaceChildren(
      h('h2', {}, e.name, ' ', badge(e.status)),
      h(
        'p',
        {},
        `${e.kind} ${e.id}`,
        e.parentId ? h('span', {}, ' · stage of ', h('a', { href: `#/exp/${e.parentId}` }, e.parentId)) : null,
      ),
      h(
        'p',
        { class: 'progress', 'data-done': done, 'data-total': total },
        `${done}/${total} trials done · ${counts.running ?? 0} running · ${counts.pruned ?? 0} pruned · ${counts.failed ?? 0} failed · started ${new Date(e.createdAt).toLocaleString()} · ${duration(e.updatedAt - e.createdAt)}`,
      ),
      e.best
        ? h(
            'p',
            { class: 'best' },
            `best: trial ${e.best.number} ${e.best.metric} = ${fmt(e.best.value)}${e.best.ci !== undefined ? ` ± ${fmt(e.best.ci)} (95% CI, ${e.best.replicates} seeds)` : ''}`,
          )
        : '',
      e.error ? h('p', { class: 'error' }, e.error) : '',
    );
  }

  private drawGroups(trials: DashTrial[]): void {
    const { perGroup, summary } = groupMetrics(trials);
    if (perGroup.length === 0 && summary.length === 0) {
      this.groups.replaceChildren();
      return;
    }
    const objective = objectiveOf(this.experiment.spec);
    const sign = objective.mode === 'max' ? -1 : 1;
    const top = trials
      .filter((t) => Number.isFinite(t.metrics[objective.metric]))
      .sort((a, b) => sign * (a.metrics[objective.metric]! - b.metrics[objective.metric]!))
      .slice(0, 20);
    const columns = [...summary, ...perGroup];
    this.groups.replaceChildren(
      card(
        'Per-group metrics (top 20 trials)',
        h(
          'table',
          { class: 'grid' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'trial'),
              columns.map((c) => h('th', {}, c)),
            ),
          ),
          h(
            'tbody',
            {},
            top.map((t) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/trial/${t.id}` }, String(t.number))),
                columns.map((c) => h('td', { class: 'num' }, fmt(t.metrics[c]))),
              ),
            ),
          ),
        ),
      ),
    );
  }
}
