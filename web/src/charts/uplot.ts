/** uPlot (canvas, ~50 kB) for curves, history and slices: it draws 1M points in well under a second. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Exporters } from './card.js';

export { uPlot };

/** Sizes a uPlot to its box and keeps it sized. */
export function fit(plot: uPlot, el: HTMLElement, height: number): void {
  const size = (): void => plot.setSize({ width: Math.max(200, el.clientWidth), height });
  size();
  new ResizeObserver(size).observe(el);
}

export function exportersOfPlot(plot: uPlot): Exporters {
  return { png: () => plot.ctx.canvas.toDataURL('image/png') };
}

export const PALETTE = [
  '#4269d0',
  '#efb118',
  '#3ca951',
  '#ff725c',
  '#6cc5b0',
  '#a463f2',
  '#ff8ab7',
  '#9c6b4e',
  '#97bbf5',
];
