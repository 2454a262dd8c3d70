/**
 * The dashboard's entry: a hash router over the pages. `boot` is shared by the served app
 * (ApiSource) and the static report (SnapshotSource, report.ts).
 */
import './app.css';
import { h } from './dom.js';
import type { Source } from './source.js';
import { experimentsPage, workersPage } from './pages/lists.js';
import { sweepPage } from './pages/sweep.js';
import { pipelinePage } from './pages/pipeline.js';
import { trialPage } from './pages/trial.js';

export function boot(source: Source, home?: string): void {
  const main = h('main', {});
  const nav = h(
    'nav',
    {},
    h('a', { href: '#/', class: 'brand' }, 'Trellis'),
    source.live
      ? [h('a', { href: '#/' }, 'Experiments'), h('a', { href: '#/workers' }, 'Workers')]
      : h('span', { class: 'hint' }, 'static report'),
  );
  document.body.replaceChildren(nav, main);
  let stop: () => void = () => undefined;
  let generation = 0;
  const route = async (): Promise<void> => {
    stop();
    stop = () => undefined;
    const mine = ++generation;
    const hash = location.hash.replace(/^#/, '') || (home ? `/exp/${home}` : '/');
    const [path, queryText] = hash.split('?');
    const parts = (path ?? '/').split('/').filter(Boolean).map(decodeURIComponent);
    document.body.dataset.ready = '';
    try {
      let next: () => void;
      if (parts[0] === 'exp' && parts[1]) {
        const { experiment } = await source.experiment(parts[1]);
        next =
          experiment.kind === 'Pipeline'
            ? await pipelinePage(source, parts[1], main)
            : await sweepPage(source, parts[1], main);
      } else if (parts[0] === 'trial' && parts[1]) next = await trialPage(source, parts[1], main);
      else if (parts[0] === 'workers') next = await workersPage(source, main);
      else next = await experimentsPage(source, main, new URLSearchParams(queryText ?? ''));
      if (mine !== generation) return next();
      stop = next;
      performance.mark('trellis:interactive');
      document.body.dataset.ready = '1';
    } catch (err) {
      main.replaceChildren(h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
      document.body.dataset.ready = 'error';
    }
  };
  window.addEventListener('hashchange', () => void route());
  void route();
}
