/** A trial: params, every attempt, its checkpoint and lineage, its curves, and what it logged. */
import { h, fmt, badge, duration } from '../dom.js';
import { card } from '../charts/card.js';
import { CurvesChart } from '../charts/curves.js';
import { objectiveOf } from '../stats.js';
import type { Source } from '../source.js';

export async function trialPage(source: Source, id: string, root: HTMLElement): Promise<() => void> {
  const { trial, experiment, curves } = await source.trial(id);
  const chart = new CurvesChart(curves, new Map([[trial.number, trial]]), objectiveOf(experiment.spec).metric);
  const backend = typeof trial.info?.backend === 'string' ? trial.info.backend : '–';
  const errors = trial.attempts.filter((a) => a.error);
  root.replaceChildren(
    h(
      'div',
      { class: 'page trial', 'data-page': 'trial' },
      h(
        'div',
        { class: 'summary' },
        h('h2', {}, `Trial ${trial.number} `, badge(trial.status)),
        h(
          'p',
          {},
          'of ',
          h('a', { href: `#/exp/${encodeURIComponent(experiment.id)}` }, experiment.name),
          ` · seed ${trial.seed}`,
          trial.lastStep !== undefined ? ` · last step ${trial.lastStep}` : '',
        ),
        trial.error ? h('p', { class: 'error' }, trial.error) : null,
      ),
      h(
        'div',
        { class: 'two' },
        card('Params', kv(trial.params)),
        card(
          'Final metrics',
          kv(Object.fromEntries(Object.entries(trial.metrics).sort(([a], [b]) => a.localeCompare(b)))),
        ),
      ),
      card(
        'Attempts',
        h(
          'table',
          { class: 'grid attempts' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['#', 'worker', 'backend', 'GPUs', 'status', 'duration', 'failure'].map((c) => h('th', {}, c)),
            ),
          ),
          h(
            'tbody',
            {},
            trial.attempts.map((a) =>
              h(
                'tr',
                {},
                h('td', {}, a.n),
                h('td', {}, a.workerId),
                h('td', {}, backend),
                h('td', {}, (a.gpuIds ?? []).join(',') || '–'),
                h('td', {}, badge(a.status)),
                h('td', {}, duration((a.endedAt ?? Date.now()) - a.startedAt)),
                h('td', { class: 'error' }, a.error ?? ''),
              ),
            ),
          ),
        ),
      ),
      card(
        'Checkpoints',
        trial.checkpoint || trial.lineage?.length
          ? h(
              'div',
              {},
              trial.checkpoint
                ? h('p', {}, `latest: artifact ${trial.checkpoint.artifactId} at step ${trial.checkpoint.step}`)
                : null,
              (trial.lineage ?? []).map((l) => h('p', {}, `weights from trial ${l.fromTrial} at step ${l.step} (PBT)`)),
            )
          : h('p', { class: 'hint' }, 'no checkpoint stored'),
      ),
      chart.el,
      card(
        'Log tail',
        errors.length > 0
          ? h(
              'div',
              {},
              errors.map((a) => h('pre', {}, `attempt ${a.n}: ${a.error}`)),
            )
          : h(
              'p',
              { class: 'hint' },
              "The coordinator keeps what a failed attempt reported (its program's last output lines); full logs stay on the worker (logs/ of its state directory).",
            ),
      ),
    ),
  );
  chart.rebuild();
  return () => undefined;
}

function kv(values: Record<string, unknown>): HTMLElement {
  return h(
    'table',
    { class: 'grid kv' },
    h(
      'tbody',
      {},
      Object.entries(values).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', { class: 'num' }, fmt(v)))),
    ),
  );
}
