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
  const logCard = new LogTail(source, trial.id, trial.attempts.length).el;
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
      logCard,
    ),
  );
  chart.rebuild();
  return () => undefined;
}

/** Lines of a log shown on the page: the kept tail, most recent last. */
const SHOWN_LINES = 200;

/**
 * The tail of an attempt's program output (what `trellis logs TRIAL --attempt N` prints), with a
 * choice of attempt and a refresh for a running one. Reads `/api/trials/ID/log`.
 */
class LogTail {
  readonly el: HTMLElement;
  private readonly body = h('div', { 'data-role': 'log' });
  private readonly select = h('select', { 'data-role': 'log-attempt' });

  constructor(
    private readonly source: Source,
    private readonly trialId: string,
    attempts: number,
  ) {
    for (let n = attempts; n >= 1; n--) this.select.append(h('option', { value: n }, `attempt ${n}`));
    this.select.addEventListener('change', () => void this.show());
    const refresh = h('button', { type: 'button', onclick: () => void this.show() }, 'refresh');
    this.el = card(
      'Log tail',
      h('div', {}, attempts > 0 ? h('label', {}, this.select, ' ', refresh) : null, this.body),
    );
    this.el.dataset.chart = 'log';
    if (attempts > 0) void this.show();
    else this.body.replaceChildren(h('p', { class: 'hint' }, 'no attempt yet'));
  }

  private async show(): Promise<void> {
    const n = Number(this.select.value);
    try {
      const log = await this.source.log(this.trialId, n);
      if (!log) {
        this.body.replaceChildren(h('p', { class: 'hint' }, 'logs are read from a live coordinator (trellis logs)'));
        return;
      }
      const lines = [
        ...log.head,
        ...(log.omittedLines > 0 ? [`… ${log.omittedLines} lines left out …`] : []),
        ...log.tail,
      ];
      const shown = lines.slice(-SHOWN_LINES);
      this.body.replaceChildren(
        h(
          'p',
          { class: 'hint' },
          `${log.totalLines} lines${log.running ? ' so far (running)' : ''}; ` +
            (shown.length < lines.length ? `the last ${shown.length} shown; ` : '') +
            `all that was kept: trellis logs ${this.trialId} --attempt ${log.attempt}`,
        ),
        h('pre', { class: 'log', 'data-lines': shown.length }, shown.join('\n')),
      );
    } catch (err) {
      this.body.replaceChildren(h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
    }
  }
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
