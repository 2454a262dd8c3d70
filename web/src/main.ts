/**
 * The dashboard's entry: a hash router over the pages. `boot` is shared by the served app
 * (ApiSource) and the static report (SnapshotSource, report.ts).
 */
import './app.css';
import { h, markComplete, timings } from './dom.js';
import { SignInNeeded, type Source } from './source.js';
import { experimentsPage, workersPage } from './pages/lists.js';
import { sweepPage } from './pages/sweep.js';
import { pipelinePage } from './pages/pipeline.js';
import { trialPage } from './pages/trial.js';

export function boot(source: Source, home?: string): void {
  const main = h('main', {});
  const who = h('span', { class: 'who', 'data-role': 'session' });
  const nav = h(
    'nav',
    {},
    h('a', { href: '#/', class: 'brand' }, 'Trellis'),
    source.live
      ? [h('a', { href: '#/' }, 'Experiments'), h('a', { href: '#/workers' }, 'Workers'), who]
      : h('span', { class: 'hint' }, 'static report'),
  );
  document.body.replaceChildren(nav, main);
  const showSession = async (): Promise<void> => {
    if (!source.live) return;
    const session = await source.session();
    if (session.signedIn) {
      const out = h(
        'button',
        { type: 'button', onclick: () => void source.signOut().then(() => void route()) },
        'sign out',
      );
      who.replaceChildren(`${session.name} (${session.role}) `, out);
    } else if (session.role) {
      who.replaceChildren(h('span', { class: 'hint' }, `${session.name} (${session.role}, read-only)`));
    } else who.replaceChildren();
  };
  const signInForm = (message: string): HTMLElement => {
    const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', placeholder: 'token' });
    const problem = h('p', { class: 'error' }, message);
    const form = h(
      'form',
      { class: 'signin', 'data-page': 'signin' },
      h('h2', {}, 'Sign in'),
      h('p', { class: 'hint' }, 'A token from `trellis token create` (viewer, submitter or admin).'),
      input,
      h('button', { type: 'submit' }, 'sign in'),
      problem,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      source.signIn(input.value).then(
        () => void route(),
        (err: unknown) => (problem.textContent = err instanceof Error ? err.message : String(err)),
      );
    });
    return form;
  };
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
    document.body.dataset.complete = '';
    try {
      let next: () => void;
      if (parts[0] === 'exp' && parts[1]) {
        // Read once: the page that draws it gets this read (a 10,000-trial sweep is megabytes).
        // A sweep's first curves are asked for at the same time (a pipeline's are not used).
        const curves = source.firstCurves(parts[1]);
        curves.catch(() => undefined); // a failure is reported where the sweep page awaits it
        const page = await source.experiment(parts[1]);
        timings['fetch.experiment'] = performance.now();
        next =
          page.experiment.kind === 'Pipeline'
            ? await pipelinePage(source, parts[1], main, page)
            : await sweepPage(source, parts[1], main, page, curves);
      } else if (parts[0] === 'trial' && parts[1]) next = await trialPage(source, parts[1], main);
      else if (parts[0] === 'workers') next = await workersPage(source, main);
      else next = await experimentsPage(source, main, new URLSearchParams(queryText ?? ''));
      if (mine !== generation) return next();
      stop = next;
      performance.mark('trellis:interactive');
      document.body.dataset.ready = '1';
      markComplete();
    } catch (err) {
      if (err instanceof SignInNeeded) {
        main.replaceChildren(signInForm(err.message));
        document.body.dataset.ready = 'signin';
      } else {
        main.replaceChildren(h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
        document.body.dataset.ready = 'error';
      }
    }
    await showSession().catch(() => undefined);
  };
  window.addEventListener('hashchange', () => void route());
  void route();
}
