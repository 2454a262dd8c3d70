/**
 * A pipeline: the stage DAG (ECharts graph) with each stage's live state, cached stages marked,
 * each linking to its child sweep; the stages table; and the arms (stages that reported test
 * metrics) side by side as a table and a bar chart with 95% CI error bars across the seeds of
 * each arm's best configuration.
 */
import { h, fmt, badge, counted } from '../dom.js';
import { card } from '../charts/card.js';
import { makeChart, exportersOf, type EChart } from '../charts/echarts.js';
import { summarise } from '../../../coordinator/search/replicates.js';
import { replicatesOf } from '../stats.js';
import type { Source, ExperimentPage } from '../source.js';
import { CancelControl } from './cancel.js';
import type { StageState } from '../../../shared/types.js';
import type { DashTrial } from '../../../shared/dashboard.js';
import type { TrellisEvent } from '../../../shared/events.js';

const COLORS: Record<string, string> = {
  pending: '#bbbbbb',
  running: '#4269d0',
  succeeded: '#3ca951',
  failed: '#d62728',
  skipped: '#999999',
  cancelled: '#9c6b4e',
};

interface StageSpec {
  name: string;
  needs?: string[];
}

export async function pipelinePage(
  source: Source,
  id: string,
  root: HTMLElement,
  first?: ExperimentPage,
): Promise<() => void> {
  let page = first ?? (await source.experiment(id));
  const header = h('div', { class: 'summary' });
  const cancel = new CancelControl(source, id);
  const dagBox = h('div', { class: 'echart tall' });
  const stagesBox = h('div', {});
  const armsBox = h('div', {});
  const barBox = h('div', { class: 'echart' });
  const metricSelect = h('select', { 'data-role': 'arm-metric' });
  let dag: EChart | undefined;
  let bars: EChart | undefined;
  root.replaceChildren(
    h(
      'div',
      { class: 'page pipeline', 'data-page': 'pipeline' },
      header,
      cancel.el,
      card('Stages', dagBox, () => (dag ? exportersOf(dag) : undefined)),
      stagesBox,
      card('Arms', h('div', {}, armsBox, h('label', {}, 'metric ', metricSelect), barBox), () =>
        bars ? exportersOf(bars) : undefined,
      ),
    ),
  );
  const stageList = ((page.experiment.spec.stages ?? []) as StageSpec[]).map((s) => ({
    name: s.name,
    needs: s.needs ?? [],
  }));
  const draw = (): void => {
    const e = page.experiment;
    const stages = (e.stages ?? {}) as Record<string, StageState>;
    cancel.update(e.status);
    header.replaceChildren(
      h('h2', {}, e.name, ' ', badge(e.status)),
      h('p', {}, `Pipeline ${e.id}`),
      e.error ? h('p', { class: 'error' }, e.error) : '',
    );
    dag ??= makeChart(dagBox);
    dag.setOption(dagOption(stageList, stages));
    dagBox.dataset.states = stageList.map((s) => `${s.name}=${stages[s.name]?.status ?? 'pending'}`).join(',');
    stagesBox.replaceChildren(stagesTable(stageList, stages));
    const arms = armsOf(page, stages);
    const metrics = [...new Set(arms.flatMap((a) => Object.keys(a.values)))].sort();
    const chosen = metrics.includes(metricSelect.value) ? metricSelect.value : (metrics[0] ?? '');
    metricSelect.replaceChildren(...metrics.map((m) => h('option', { value: m, selected: m === chosen }, m)));
    armsBox.replaceChildren(armsTable(arms, metrics));
    bars ??= makeChart(barBox);
    bars.setOption(barOption(arms, chosen), { notMerge: true });
    counted('pipeline');
  };
  metricSelect.addEventListener('change', draw);
  draw();
  let pending: ReturnType<typeof setTimeout> | undefined;
  const stop = source.live
    ? source.follow(id, page.seq, (event: TrellisEvent) => {
        if (event.type !== 'stage.state' && event.type !== 'experiment.state') return;
        // A stage event carries its status; the stage's outputs and its child's seeds are re-read.
        pending ??= setTimeout(() => {
          pending = undefined;
          source.experiment(id).then(
            (next) => {
              page = next;
              draw();
            },
            () => undefined,
          );
        }, 100);
      })
    : () => undefined;
  return () => {
    stop();
    clearTimeout(pending);
  };
}

function dagOption(
  stages: { name: string; needs: string[] }[],
  states: Record<string, StageState>,
): Record<string, unknown> {
  const depth = new Map<string, number>();
  const depthOf = (name: string, seen = new Set<string>()): number => {
    if (depth.has(name)) return depth.get(name)!;
    if (seen.has(name)) return 0;
    seen.add(name);
    const needs = stages.find((s) => s.name === name)?.needs ?? [];
    const d = needs.length === 0 ? 0 : 1 + Math.max(...needs.map((n) => depthOf(n, seen)));
    depth.set(name, d);
    return d;
  };
  const rows = new Map<number, number>();
  const nodes = stages.map((s) => {
    const d = depthOf(s.name);
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    const state = states[s.name];
    const status = state?.status ?? 'pending';
    return {
      name: s.name,
      x: d * 220,
      y: row * 90,
      symbol: 'roundRect',
      symbolSize: [170, 46],
      itemStyle: {
        color: COLORS[status] ?? '#bbb',
        borderColor: '#333',
        borderWidth: state?.cached ? 3 : 0,
        borderType: 'dashed',
      },
      label: {
        show: true,
        color: '#fff',
        lineHeight: 16,
        formatter: `${s.name}\n${status}${state?.cached ? ' (cached)' : ''}`,
      },
    };
  });
  const links = stages.flatMap((s) => s.needs.map((n) => ({ source: n, target: s.name })));
  return {
    animation: false,
    tooltip: {},
    series: [
      {
        type: 'graph',
        layout: 'none',
        roam: true,
        data: nodes,
        links,
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 10,
        lineStyle: { color: '#666', width: 2 },
      },
    ],
  };
}

function stagesTable(stages: { name: string }[], states: Record<string, StageState>): HTMLElement {
  return card(
    'Stage details',
    h(
      'table',
      { class: 'grid stages' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['stage', 'status', 'cached', 'attempt', 'sweep', 'metrics'].map((c) => h('th', {}, c)),
        ),
      ),
      h(
        'tbody',
        {},
        stages.map((s) => {
          const st = states[s.name];
          return h(
            'tr',
            { 'data-stage': s.name },
            h('td', {}, s.name),
            h('td', {}, badge(st?.status ?? 'pending')),
            h('td', {}, st?.cached ? 'cached' : ''),
            h('td', {}, st?.attempt ?? 0),
            h('td', {}, st?.childId ? h('a', { href: `#/exp/${encodeURIComponent(st.childId)}` }, st.childId) : '–'),
            h(
              'td',
              { class: 'params' },
              Object.entries(st?.metrics ?? {})
                .filter(([m]) => !m.includes('.'))
                .map(([m, v]) => `${m}=${fmt(v)}`)
                .join(' '),
            ),
          );
        }),
      ),
    ),
  );
}

interface Arm {
  name: string;
  status: string;
  cached: boolean;
  /** metric → values over the seeds of the arm's best configuration (the stage metric when no seeds are known). */
  values: Record<string, number[]>;
}

function armsOf(page: ExperimentPage, stages: Record<string, StageState>): Arm[] {
  const arms: Arm[] = [];
  for (const [name, st] of Object.entries(stages)) {
    const testMetrics = Object.keys(st.metrics ?? {}).filter((m) => m.startsWith('test_') && !m.includes('.'));
    if (testMetrics.length === 0) continue;
    const child = page.children?.find((c) => c.experiment.id === st.childId);
    const seeds = child && st.best ? seedsOf(child.trials, st.best.number, replicatesOf(child.experiment.spec)) : [];
    const values: Record<string, number[]> = {};
    for (const m of testMetrics) {
      const fromSeeds = seeds.map((t) => t.metrics[m]).filter((v): v is number => Number.isFinite(v));
      values[m] = fromSeeds.length > 0 ? fromSeeds : [st.metrics![m]!];
    }
    arms.push({ name, status: st.status, cached: st.cached, values });
  }
  return arms;
}

function seedsOf(trials: DashTrial[], best: number, k: number): DashTrial[] {
  const config = Math.floor(best / k);
  return trials.filter((t) => Math.floor(t.number / k) === config && t.status === 'succeeded');
}

function armsTable(arms: Arm[], metrics: string[]): HTMLElement {
  if (arms.length === 0) return h('p', { class: 'hint' }, 'no stage has reported test metrics yet');
  return h(
    'table',
    { class: 'grid arms' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'arm'),
        h('th', {}, 'status'),
        h('th', {}, 'cached'),
        metrics.map((m) => h('th', {}, m)),
      ),
    ),
    h(
      'tbody',
      {},
      arms.map((a) =>
        h(
          'tr',
          {},
          h('td', {}, a.name),
          h('td', {}, badge(a.status)),
          h('td', {}, a.cached ? 'yes' : 'no'),
          metrics.map((m) => {
            const s = a.values[m] ? summarise(a.values[m]!) : undefined;
            return h(
              'td',
              { class: 'num' },
              s ? (s.n > 1 ? `${fmt(s.mean)} ± ${fmt(s.ci95)} (n=${s.n})` : fmt(s.mean)) : '–',
            );
          }),
        ),
      ),
    ),
  );
}

function barOption(arms: Arm[], metric: string): Record<string, unknown> {
  const stats = arms.map((a) => (a.values[metric] ? summarise(a.values[metric]!) : undefined));
  return {
    animation: false,
    tooltip: {},
    grid: { left: 60, right: 20, top: 20, bottom: 60 },
    xAxis: { type: 'category', data: arms.map((a) => a.name), axisLabel: { rotate: 20 } },
    yAxis: { type: 'value', name: metric },
    series: [
      { type: 'bar', data: stats.map((s) => s?.mean ?? null), itemStyle: { color: '#4269d0' } },
      {
        type: 'custom',
        name: '95% CI',
        data: stats.map((s, i) => [i, (s?.mean ?? 0) - (s?.ci95 ?? 0), (s?.mean ?? 0) + (s?.ci95 ?? 0)]),
        renderItem: (
          _params: unknown,
          api: { value(i: number): number; coord(p: number[]): number[]; size(p: number[]): number[] },
        ) => {
          const low = api.coord([api.value(0), api.value(1)]);
          const high = api.coord([api.value(0), api.value(2)]);
          const w = api.size([1, 0])[0]! * 0.15;
          const line = (x1: number, y1: number, x2: number, y2: number) => ({
            type: 'line',
            shape: { x1, y1, x2, y2 },
            style: { stroke: '#222', lineWidth: 1.5 },
          });
          return {
            type: 'group',
            children: [
              line(low[0]!, low[1]!, high[0]!, high[1]!),
              line(low[0]! - w, low[1]!, low[0]! + w, low[1]!),
              line(high[0]! - w, high[1]!, high[0]! + w, high[1]!),
            ],
          };
        },
        z: 10,
      },
    ],
  };
}
