/** uPlot (canvas, ~50 kB) for curves, history and slices: it draws 1M points in well under a second. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Exporters } from './card.js';

export { uPlot };

/** The plot each box shows now, sized by the box's one observer. */
const fitted = new WeakMap<HTMLElement, { plot: uPlot; height: number }>();

/**
 * Sizes a uPlot to its box and keeps it sized. One ResizeObserver per box, whatever the number
 * of plots drawn into it over time: an observer per call kept every replaced plot (and its
 * canvas) alive for as long as the page was open.
 */
export function fit(plot: uPlot, el: HTMLElement, height: number): void {
  const size = (): void => {
    const current = fitted.get(el);
    current?.plot.setSize({ width: Math.max(200, el.clientWidth), height: current.height });
  };
  const known = fitted.has(el);
  fitted.set(el, { plot, height });
  size();
  if (!known) new ResizeObserver(size).observe(el);
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
