/** Optimisation history and per-param slices (uPlot), parameter importance (ECharts bars). */
import { h, counted } from '../dom.js';
import { card } from './card.js';
import { uPlot, fit, exportersOfPlot } from './uplot.js';
import { makeChart, exportersOf, type EChart } from './echarts.js';
import { history, importance, type Objective } from '../stats.js';
import type { DashTrial } from '../../../shared/dashboard.js';

/** Objective per finished trial (dots) and the best so far (steps). */
export class HistoryChart {
  readonly el: HTMLElement;
  private readonly box = h('div', { class: 'plot' });
  private plot: uPlot | undefined;
  private count = -1;

  constructor(private readonly objective: Objective) {
    this.el = card('Optimisation history', this.box, () => (this.plot ? exportersOfPlot(this.plot) : undefined));
    this.el.dataset.chart = 'history';
  }

  update(trials: Iterable<DashTrial>): void {
    const hist = history([...trials], this.objective);
    if (hist.numbers.length === this.count) return;
    this.count = hist.numbers.length;
    const data = [hist.numbers, hist.values, hist.best] as uPlot.AlignedData;
    if (this.plot) this.plot.setData(data);
    else {
      this.plot = new uPlot(
        {
          width: 600,
          height: 240,
          scales: { x: { time: false } },
          axes: [{ label: 'trial' }, { label: this.objective.metric, size: 60 }],
          series: [
            { label: 'trial' },
            {
              label: this.objective.metric,
              stroke: '#4269d0',
              paths: () => null,
              points: { show: true, size: 5, fill: '#4269d0' },
            },
            {
              label: 'best so far',
              stroke: '#ff725c',
              width: 2,
              paths: uPlot.paths.stepped!({ align: 1 }),
              points: { show: false },
            },
          ],
        },
        data,
        this.box,
      );
      fit(this.plot, this.box, 240);
    }
    counted('history');
  }
}

/** One scatter per param: objective against the param's value (categories by index). */
export class SlicesChart {
  readonly el: HTMLElement;
  private readonly grid = h('div', { class: 'slices' });
  private plots: uPlot[] = [];
  private count = -1;

  constructor(private readonly objective: Objective) {
    this.el = card('Slices', this.grid, () => (this.plots[0] ? exportersOfPlot(this.plots[0]) : undefined));
    this.el.dataset.chart = 'slices';
  }

  update(trials: Iterable<DashTrial>): void {
    const done = [...trials].filter((t) => Number.isFinite(t.metrics[this.objective.metric]));
    if (done.length === this.count) return;
    this.count = done.length;
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.grid.replaceChildren();
    const params = [...new Set(done.flatMap((t) => Object.keys(t.params)))].sort();
    for (const param of params) {
      const categories = [
        ...new Set(
          done
            .map((t) => t.params[param])
            .filter((v) => typeof v !== 'number')
            .map(String),
        ),
      ].sort();
      const xOf = (v: unknown): number => (typeof v === 'number' ? v : categories.indexOf(String(v)));
      const box = h('div', { class: 'slice' });
      this.grid.append(box);
      // uPlot wants ascending x: points sorted by the param's value (ties kept).
      const points = done
        .map((t) => [xOf(t.params[param]), t.metrics[this.objective.metric]!] as const)
        .sort((a, b) => a[0] - b[0]);
      const plot = new uPlot(
        {
          width: 280,
          height: 180,
          legend: { show: false },
          cursor: { points: { show: false } },
          scales: {
            x: {
              time: false,
              ...(categories.length > 0 ? { range: [-0.5, categories.length - 0.5] as uPlot.Range.MinMax } : {}),
            },
          },
          axes: [
            {
              label: param,
              ...(categories.length > 0 ? { splits: () => categories.map((_, i) => i), values: () => categories } : {}),
            },
            { size: 50 },
          ],
          series: [
            {},
            { stroke: '#4269d0', fill: '#4269d0', paths: () => null, points: { show: true, size: 6, fill: '#4269d0' } },
          ],
        },
        [points.map((p) => p[0]), points.map((p) => p[1])],
        box,
      );
      this.plots.push(plot);
    }
    counted('slices');
  }
}

/** Importance as first-order variance shares (see web/src/stats.ts `importance`). */
export class ImportanceChart {
  readonly el: HTMLElement;
  private readonly box = h('div', { class: 'echart' });
  private chart: EChart | undefined;
  private count = -1;

  constructor(private readonly objective: Objective) {
    this.el = card(
      'Parameter importance',
      h(
        'div',
        {},
        h(
          'p',
          { class: 'hint' },
          "share of the objective's variance explained by each param alone (first-order variance decomposition over quantile bins, as fANOVA's main effects)",
        ),
        this.box,
      ),
      () => (this.chart ? exportersOf(this.chart) : undefined),
    );
    this.el.dataset.chart = 'importance';
  }

  update(trials: Iterable<DashTrial>): void {
    const list = [...trials];
    const done = list.filter((t) => Number.isFinite(t.metrics[this.objective.metric])).length;
    if (done === this.count) return;
    this.count = done;
    const ranked = importance(list, this.objective.metric).reverse();
    this.chart ??= makeChart(this.box);
    this.chart.setOption({
      animation: false,
      grid: { left: 120, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value', max: 1 },
      yAxis: { type: 'category', data: ranked.map((r) => r.param) },
      tooltip: {},
      series: [
        { type: 'bar', data: ranked.map((r) => Number(r.importance.toFixed(4))), itemStyle: { color: '#3ca951' } },
      ],
    });
    counted('importance');
  }
}
