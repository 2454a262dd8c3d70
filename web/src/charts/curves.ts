/**
 * Learning curves of every trial in one uPlot: a series per trial over the union of steps.
 * Pruned trials are dashed red and end where they were stopped; hovering a curve shows its
 * trial's params. Live: `touch(n)` marks one trial changed; `flush()` updates only that trial's
 * series data (the canvas itself is redrawn once per flush, as every canvas chart must).
 */
import { h, fmt, counted } from '../dom.js';
import { uPlot, fit, exportersOfPlot } from './uplot.js';
import { card } from './card.js';
import type { DashCurves, DashTrial } from '../../../shared/dashboard.js';

const STYLE: Record<string, { stroke: string; dash?: number[] }> = {
  pruned: { stroke: 'rgba(214,39,40,0.75)', dash: [5, 3] },
  running: { stroke: 'rgba(66,105,208,0.95)' },
  succeeded: { stroke: 'rgba(60,169,81,0.55)' },
  failed: { stroke: 'rgba(120,120,120,0.5)', dash: [2, 2] },
};

export class CurvesChart {
  readonly el: HTMLElement;
  private readonly box = h('div', { class: 'plot' });
  private readonly tip = h('div', { class: 'tip', hidden: true });
  private readonly select = h('select', { 'data-role': 'metric' });
  private plot: uPlot | undefined;
  private metric: string;
  private order: number[] = [];
  private xs: number[] = [];
  private readonly dirty = new Set<number>();
  /** Someone picked the metric; until then a metric with data is shown rather than an empty one. */
  private chosen = false;

  constructor(
    private readonly curves: DashCurves,
    private readonly trials: Map<number, Pick<DashTrial, 'status' | 'params'>>,
    objective: string,
    /** Fetches a metric's values into `curves` (the page loads the objective's only at first). */
    private readonly load: (metric: string) => Promise<void> = async () => undefined,
  ) {
    this.metric = curves.metrics.includes(objective) ? objective : (curves.metrics[0] ?? objective);
    this.select.addEventListener('change', () => {
      this.chosen = true;
      this.metric = this.select.value;
      const ready = this.curves.values[this.metric] ? Promise.resolve() : this.load(this.metric);
      ready.then(
        () => this.rebuild(),
        () => undefined,
      );
    });
    const legend = h(
      'p',
      { class: 'hint' },
      'green: succeeded · blue: running · ',
      h('span', { class: 'pruned' }, 'dashed red: pruned (cut where stopped)'),
      ' · hover a curve for its params',
    );
    this.el = card(
      'Learning curves',
      h(
        'div',
        {},
        h('label', {}, 'metric ', this.select),
        legend,
        h('div', { class: 'plot-wrap' }, this.box, this.tip),
      ),
      () => (this.plot ? exportersOfPlot(this.plot) : undefined),
    );
    this.el.dataset.chart = 'curves';
  }

  /** The metric drawn. */
  get shown(): string {
    return this.metric;
  }

  /** Draws from scratch (after mounting, or when the metric or the step range changes). */
  rebuild(): void {
    if (!this.chosen && !this.hasData(this.metric)) {
      const other = this.curves.metrics.find((m) => this.hasData(m));
      if (other) this.metric = other;
    }
    this.select.replaceChildren(
      ...this.curves.metrics.map((m) => h('option', { value: m, selected: m === this.metric }, m)),
    );
    const values = this.curves.values[this.metric] ?? {};
    const steps = new Set<number>();
    for (const n of Object.keys(values)) for (const s of this.curves.steps[Number(n)] ?? []) steps.add(s);
    this.xs = [...steps].sort((a, b) => a - b);
    this.order = Object.keys(values)
      .map(Number)
      .sort((a, b) => a - b);
    const data: (number | null)[][] = [this.xs, ...this.order.map((n) => this.aligned(n))];
    this.plot?.destroy();
    this.plot = new uPlot(
      {
        width: 600,
        height: 300,
        legend: { show: false },
        cursor: { focus: { prox: 12 }, points: { show: false } },
        focus: { alpha: 0.25 },
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, { label: this.metric, size: 60 }],
        series: [{}, ...this.order.map((n) => this.seriesOf(n))],
        hooks: { setSeries: [(u, index) => this.showTip(u, index)] },
      },
      data as uPlot.AlignedData,
      this.box,
    );
    fit(this.plot, this.box, 300);
    this.el.dataset.series = String(this.order.length);
    counted('curves.rebuild');
  }

  touch(n: number): void {
    this.dirty.add(n);
  }

  /** Applies the touched trials: their series only, unless the step range grew. */
  flush(): void {
    if (this.dirty.size === 0 || !this.plot) return;
    if (!this.chosen && this.order.length === 0) {
      this.dirty.clear();
      this.rebuild();
      return;
    }
    const values = this.curves.values[this.metric] ?? {};
    const known = new Set(this.order);
    const maxX = this.xs[this.xs.length - 1] ?? -Infinity;
    let grows = false;
    for (const n of this.dirty) {
      for (const s of this.curves.steps[n] ?? []) if (s > maxX || !this.xs.includes(s)) grows = true;
      if (!known.has(n) && values[n]) grows = true;
    }
    if (grows) {
      this.dirty.clear();
      this.rebuild();
      return;
    }
    const data = this.plot.data as unknown as (number | null)[][];
    for (const n of this.dirty) {
      const index = this.order.indexOf(n) + 1;
      data[index] = this.aligned(n);
      const style = STYLE[this.trials.get(n)?.status ?? 'running'] ?? STYLE.running!;
      const series = this.plot.series[index] as uPlot.Series & { _stroke?: unknown };
      series.stroke = () => style.stroke;
      series.dash = style.dash ?? [];
    }
    this.dirty.clear();
    this.plot.setData(data as uPlot.AlignedData);
    counted('curves.update');
  }

  private hasData(metric: string): boolean {
    return Object.keys(this.curves.values[metric] ?? {}).length > 0;
  }

  private aligned(n: number): (number | null)[] {
    const steps = this.curves.steps[n] ?? [];
    const ys = this.curves.values[this.metric]?.[n] ?? [];
    const out: (number | null)[] = new Array<number | null>(this.xs.length).fill(null);
    let j = 0;
    for (let i = 0; i < steps.length; i++) {
      while (j < this.xs.length && this.xs[j]! < steps[i]!) j++;
      if (this.xs[j] === steps[i]) out[j] = ys[i] ?? null;
    }
    return out;
  }

  private seriesOf(n: number): uPlot.Series {
    const style = STYLE[this.trials.get(n)?.status ?? 'running'] ?? STYLE.running!;
    return {
      label: `#${n}`,
      stroke: style.stroke,
      width: 1,
      spanGaps: true,
      // A trial with one point so far (or a metric reported once) is a dot, not an invisible line.
      points: { show: () => (this.curves.steps[n]?.length ?? 0) <= 1, size: 5 },
      ...(style.dash ? { dash: style.dash } : {}),
    };
  }

  private showTip(u: uPlot, index: number | null): void {
    if (index === null || index < 1) {
      this.tip.hidden = true;
      return;
    }
    const n = this.order[index - 1]!;
    const trial = this.trials.get(n);
    this.tip.hidden = false;
    this.tip.style.left = `${(u.cursor.left ?? 0) + 70}px`;
    this.tip.style.top = `${(u.cursor.top ?? 0) + 10}px`;
    this.tip.replaceChildren(
      h('b', {}, `trial ${n} (${trial?.status ?? '?'})`),
      ...Object.entries(trial?.params ?? {}).map(([k, v]) => h('div', {}, `${k} = ${fmt(v)}`)),
    );
  }
}
