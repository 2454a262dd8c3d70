/** The experiments list (filter by status and name) and the workers page, both live. */
import { h, fmt, badge, duration } from '../dom.js';
import { card } from '../charts/card.js';
import type { Source } from '../source.js';
import type { DashExperiment } from '../../../shared/dashboard.js';

const STATUSES = ['', 'pending', 'running', 'succeeded', 'failed', 'cancelled'];

/** Re-reads at most once a second while events arrive (never a polling loop). */
function throttled(fn: () => void, ms = 1000): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = 0;
  return () => {
    if (timer) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        last = Date.now();
        fn();
      },
      Math.max(0, ms - (Date.now() - last)),
    );
  };
}

export async function experimentsPage(source: Source, root: HTMLElement, query: URLSearchParams): Promise<() => void> {
  const status = h(
    'select',
    { 'data-role': 'status' },
    STATUSES.map((s) => h('option', { value: s, selected: s === (query.get('status') ?? '') }, s || 'any status')),
  );
  const name = h('input', { 'data-role': 'name', placeholder: 'name or id', value: query.get('name') ?? '' });
  const body = h('tbody', {});
  const note = h('p', { class: 'hint' });
  const load = async (): Promise<void> => {
    const { experiments, truncated } = await source.experiments(status.value, name.value.trim());
    body.replaceChildren(...experiments.map(row));
    note.textContent = truncated ? 'showing the newest 500' : `${experiments.length} experiments`;
  };
  const reload = throttled(() => void load().catch(() => undefined), 1000);
  status.addEventListener('change', () => void load());
  name.addEventListener(
    'input',
    throttled(() => void load(), 250),
  );
  root.replaceChildren(
    h(
      'div',
      { class: 'page experiments', 'data-page': 'experiments' },
      card(
        'Experiments',
        h(
          'div',
          {},
          h('div', { class: 'filters' }, status, name, note),
          h(
            'table',
            { class: 'grid' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['name', 'kind', 'status', 'progress', 'best', 'started', 'duration'].map((c) => h('th', {}, c)),
              ),
            ),
            body,
          ),
        ),
      ),
    ),
  );
  await load();
  return source.followAll((e) => e.type !== 'worker.state' && reload(), reload);
}

function row(e: DashExperiment): HTMLElement {
  const p = e.progress;
  return h(
    'tr',
    { 'data-id': e.id },
    h('td', {}, h('a', { href: `#/exp/${encodeURIComponent(e.id)}` }, e.name), h('div', { class: 'hint' }, e.id)),
    h('td', {}, e.kind),
    h('td', {}, badge(e.status)),
    h(
      'td',
      {},
      p
        ? `${p.done}/${p.total || '?'} done · ${p.running} running · ${p.pruned} pruned · ${p.failed} failed`
        : `${Object.keys(e.stages ?? {}).length} stages`,
    ),
    h('td', { class: 'num' }, e.best ? `${e.best.metric} ${fmt(e.best.value)}` : '–'),
    h('td', {}, new Date(e.createdAt).toLocaleString()),
    h('td', {}, duration(e.updatedAt - e.createdAt)),
  );
}

export async function workersPage(source: Source, root: HTMLElement): Promise<() => void> {
  const body = h('tbody', {});
  const load = async (): Promise<void> => {
    const { workers } = await source.workers();
    body.replaceChildren(
      ...workers.map((w) =>
        h(
          'tr',
          { 'data-worker': w.id },
          h('td', {}, w.id),
          h('td', {}, badge(w.live && !w.live.accepting && w.status === 'connected' ? 'draining' : w.status)),
          h('td', {}, `${w.live ? fmt(w.live.usedCpus) : 0}/${w.slots.cpus}`),
          h(
            'td',
            {},
            w.slots.gpus.length
              ? `${w.live?.usedGpus.length ?? 0}/${w.slots.gpus.length} (${w.slots.gpus.join(',')})`
              : '–',
          ),
          h('td', {}, w.live ? String(w.live.running) : '0'),
          h('td', { class: 'params' }, (w.live?.attempts ?? []).join(' ')),
          h('td', {}, w.runtimes.join(', ')),
          h('td', {}, `${duration(Date.now() - w.lastSeenAt)} ago`),
        ),
      ),
    );
  };
  root.replaceChildren(
    h(
      'div',
      { class: 'page workers', 'data-page': 'workers' },
      card(
        'Workers',
        h(
          'table',
          { class: 'grid' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['worker', 'status', 'CPUs used', 'GPUs used', 'running', 'attempts', 'runtimes', 'last seen'].map((c) =>
                h('th', {}, c),
              ),
            ),
          ),
          body,
        ),
      ),
    ),
  );
  await load();
  const reload = throttled(() => void load().catch(() => undefined), 1000);
  return source.followAll(
    (e) => (e.type === 'worker.state' || e.type === 'trial.state' ? reload() : undefined),
    reload,
  );
}
