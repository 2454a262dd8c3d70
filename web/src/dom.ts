/** A few DOM helpers: the pages build plain elements, no framework. */
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (key === 'class') el.className = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function fmt(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(2) : value.toFixed(4);
  }
  if (value === undefined || value === null) return '–';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

export function badge(status: string): HTMLElement {
  return h('span', { class: `badge s-${status}` }, status);
}

let deferred = 0;

/**
 * Draws `fn` after the browser has painted what is already on the page: the parts a person reads
 * first (header, leaderboard, curves) show, and the page answers input, before the whole-sweep
 * analyses are computed. Once every deferred part has drawn, the page is complete.
 */
export function afterPaint(fn: () => void): void {
  deferred++;
  requestAnimationFrame(() =>
    setTimeout(() => {
      try {
        fn();
      } finally {
        deferred--;
        markComplete();
      }
    }, 0),
  );
}

/**
 * `trellis:complete` and body[data-complete="1"]: the page is ready (main.ts) and no deferred part
 * is left to draw. The browser tests wait for it before they read charts; the bench reports both
 * marks.
 */
export function markComplete(): void {
  if (deferred > 0 || document.body.dataset.ready !== '1' || document.body.dataset.complete === '1') return;
  performance.mark('trellis:complete');
  document.body.dataset.complete = '1';
}

/** Counters the browser tests and the bench read: how often each part of a page was drawn. */
export const renders: Record<string, number> = {};
export function counted(name: string): void {
  renders[name] = (renders[name] ?? 0) + 1;
}
/** Chart instances by name, for the browser tests (they read a brushed range back). */
export const charts: Record<string, unknown> = {};
/** Milliseconds of the latest run of timed steps (the bench reads `flush`). */
export const timings: Record<string, number> = {};
(globalThis as { __trellis?: unknown }).__trellis = { renders, charts, timings };
