/** The parts of Apache ECharts the dashboard uses (tree-shaken: parallel, bar, graph, custom). */
import * as echarts from 'echarts/core';
import { BarChart, CustomChart, GraphChart, ParallelChart } from 'echarts/charts';
import { GridComponent, ParallelComponent, TooltipComponent, LegendComponent } from 'echarts/components';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';
import type { Exporters } from './card.js';

echarts.use([
  BarChart,
  CustomChart,
  GraphChart,
  ParallelChart,
  GridComponent,
  ParallelComponent,
  TooltipComponent,
  LegendComponent,
  CanvasRenderer,
  SVGRenderer,
]);

export type EChart = echarts.ECharts;
export type Option = echarts.EChartsCoreOption;

export function makeChart(el: HTMLElement): EChart {
  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  new ResizeObserver(() => chart.resize()).observe(el);
  return chart;
}

/** PNG from the live chart; SVG by drawing the same option once more with the SVG renderer. */
export function exportersOf(chart: EChart): Exporters {
  return {
    png: () => chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#fff' }),
    svg: () => {
      const el = document.createElement('div');
      const svg = echarts.init(el, undefined, { renderer: 'svg', width: chart.getWidth(), height: chart.getHeight() });
      svg.setOption({ ...chart.getOption(), animation: false });
      const text = svg.renderToSVGString();
      svg.dispose();
      return text;
    },
  };
}
