/**
 * Parallel coordinates (Apache ECharts): one axis per param, then the objective; a line per
 * finished trial. Brushing an axis (drag along it) selects a range; `onBrush` gets the trial
 * numbers still active, or undefined when no axis is brushed.
 */
import { h, counted, charts } from '../dom.js';
import { card } from './card.js';
import { makeChart, exportersOf, type EChart } from './echarts.js';
import type { DashTrial } from '../../../shared/dashboard.js';
import type { Objective } from '../stats.js';

export class ParallelChart {
  readonly el: HTMLElement;
  private readonly box = h('div', { class: 'echart tall' });
  private chart: EChart | undefined;
  private numbers: number[] = [];
  private signature = '';

  constructor(
    private readonly objective: Objective,
    private readonly onBrush: (numbers: Set<number> | undefined) => void,
  ) {
    this.el = card(
      'Parallel coordinates',
      h(
        'div',
        {},
        h(
          'p',
          { class: 'hint' },
          'drag along an axis to brush: the leaderboard shows only the trials inside every brushed range',
        ),
        this.box,
      ),
      () => (this.chart ? exportersOf(this.chart) : undefined),
    );
    this.el.dataset.chart = 'parcoords';
  }

  /** Redraws from the finished trials (skipped when nothing it shows has changed). */
  update(trials: Iterable<DashTrial>): void {
    const done = [...trials].filter((t) => Number.isFinite(t.metrics[this.objective.metric]));
    const signature = done.map((t) => `${t.number}:${t.metrics[this.objective.metric]}`).join(',');
    if (signature === this.signature) return;
    this.signature = signature;
    this.chart ??= this.mount();
    const params = [...new Set(done.flatMap((t) => Object.keys(t.params)))].sort();
    const categorical = params.map((p) => done.some((t) => typeof t.params[p] !== 'number'));
    const axes = [
      ...params.map((p, i) =>
        categorical[i]
          ? {
              id: `axis-${i}`,
              dim: i,
              name: p,
              type: 'category',
              data: [...new Set(done.map((t) => String(t.params[p])))].sort(),
            }
          : { id: `axis-${i}`, dim: i, name: p, type: 'value', scale: true },
      ),
      {
        id: `axis-${params.length}`,
        dim: params.length,
        name: this.objective.metric,
        type: 'value',
        scale: true,
        nameTextStyle: { fontWeight: 'bold' },
      },
    ];
    this.numbers = done.map((t) => t.number);
    const data = done.map((t) => [
      ...params.map((p, i) => (categorical[i] ? String(t.params[p]) : (t.params[p] as number))),
      t.metrics[this.objective.metric]!,
    ]);
    this.chart.setOption(
      {
        animation: false,
        parallelAxis: axes,
        parallel: { left: 40, right: 80, top: 40, bottom: 30 },
        series: [
          {
            type: 'parallel',
            data,
            lineStyle: { width: 1, opacity: data.length > 500 ? 0.15 : 0.5, color: '#4269d0' },
            inactiveOpacity: 0.03,
            activeOpacity: 1,
            progressive: 2000,
          },
        ],
      },
      { replaceMerge: ['parallelAxis', 'series'] },
    );
    this.el.dataset.lines = String(data.length);
    counted('parcoords');
  }

  /** The brushed ranges of each axis (data values), as the chart holds them. */
  intervals(): number[][][] {
    const model = this.model();
    const out: number[][][] = [];
    for (let i = 0; model?.getComponent('parallelAxis', i); i++)
      out.push(model.getComponent('parallelAxis', i)!.activeIntervals ?? []);
    return out;
  }

  private model(): Model | undefined {
    return (this.chart as unknown as { getModel(): Model } | undefined)?.getModel();
  }

  private mount(): EChart {
    const chart = makeChart(this.box);
    charts.parcoords = this;
    chart.on('axisareaselected', () => {
      const series = this.model()!.getSeriesByIndex(0);
      const active = series.getRawIndicesByActiveState('active');
      const inactive = series.getRawIndicesByActiveState('inactive');
      // No brush leaves every line 'normal'; a brush marks each line active or inactive.
      if (active.length === 0 && inactive.length === 0) return this.onBrush(undefined);
      this.onBrush(new Set(active.map((i) => this.numbers[i]!)));
    });
    return chart;
  }
}

/** The few ECharts model internals brushing needs (not in its public typings). */
interface Model {
  getSeriesByIndex(i: number): { getRawIndicesByActiveState(state: string): number[] };
  getComponent(type: string, index: number): { activeIntervals?: number[][] } | undefined;
}
