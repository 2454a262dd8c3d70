/**
 * The leaderboard: configurations ranked by the objective, replicates folded into mean ± 95% CI
 * with their seeds expandable. Rows are keyed by configuration: a live update rewrites only the
 * rows of the trials that changed and moves only rows whose rank changed.
 */
import { h, fmt, badge, counted } from '../dom.js';
import { card } from '../charts/card.js';
import { rankRows, rowOf, type Objective, type Row } from '../stats.js';
import type { DashTrial } from '../../../shared/dashboard.js';

type SortKey = 'objective' | 'config';

export class Leaderboard {
  readonly el: HTMLElement;
  private readonly table = h('table', { class: 'grid leaderboard' });
  private readonly more = h('button', { class: 'more' }, 'show more');
  /**
   * Rows by configuration; `stale` rows are redrawn when next shown (most of 10k never are). A row
   * holds elements only while shown: one that leaves the page is emptied, so a page open for
   * hours holds the rows it shows, not every row it ever showed.
   */
  private readonly rows = new Map<number, Entry>();
  private shown = new Set<Entry>();
  private filter: Set<number> | undefined;
  private sort: SortKey = 'objective';
  private limit = 100;
  private readonly extra: string[];

  constructor(
    private readonly trials: Map<number, DashTrial>,
    private readonly objective: Objective,
    private readonly k: number,
  ) {
    const names = new Set([...trials.values()].flatMap((t) => Object.keys(t.metrics)));
    this.extra = ['val_loss', 'test_accuracy', 'test_loss'].filter((m) => m !== objective.metric && names.has(m));
    this.more.addEventListener('click', () => {
      this.limit += 500;
      this.order();
    });
    this.el = card(
      k > 1 ? `Leaderboard (configurations × ${k} seeds)` : 'Leaderboard',
      h('div', {}, this.table, this.more),
    );
    this.el.dataset.chart = 'leaderboard';
  }

  mount(): void {
    const sortBy = (key: SortKey) => () => {
      this.sort = key;
      this.order();
    };
    this.table.replaceChildren(
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, '#'),
          h('th', { class: 'sortable', onclick: sortBy('config') }, this.k > 1 ? 'config' : 'trial'),
          h('th', {}, 'status'),
          h(
            'th',
            { class: 'sortable', onclick: sortBy('objective') },
            `${this.objective.metric} (${this.objective.mode})`,
          ),
          this.extra.map((m) => h('th', {}, m)),
          h('th', {}, 'params'),
        ),
      ),
    );
    const byConfig = new Map<number, DashTrial[]>();
    for (const t of this.trials.values()) {
      const c = Math.floor(t.number / this.k);
      byConfig.set(c, [...(byConfig.get(c) ?? []), t]);
    }
    for (const [config, members] of byConfig) this.put(config, members);
    this.order();
  }

  /** Re-reads the rows of these trials and re-ranks. */
  update(numbers: Iterable<number>): void {
    const configs = new Set([...numbers].map((n) => Math.floor(n / this.k)));
    for (const config of configs) {
      const members: DashTrial[] = [];
      for (let n = config * this.k; n < (config + 1) * this.k; n++) {
        const t = this.trials.get(n);
        if (t) members.push(t);
      }
      if (members.length > 0) this.put(config, members);
    }
    this.order();
  }

  setFilter(numbers: Set<number> | undefined): void {
    this.filter = numbers;
    this.order();
  }

  private put(config: number, members: DashTrial[]): void {
    const row = rowOf(config, members, this.objective.metric);
    const known = this.rows.get(config);
    if (known) {
      known.row = row;
      known.stale = true;
    } else this.rows.set(config, { row, el: undefined, open: false, stale: true });
  }

  private draw(entry: Entry): void {
    entry.stale = false;
    entry.el ??= h('tbody', { 'data-config': entry.row.config });
    counted('leaderboard.row');
    const { row } = entry;
    const first = row.trials[0]!;
    const value =
      row.value === undefined ? '–' : row.ci !== undefined ? `${fmt(row.value)} ± ${fmt(row.ci)}` : fmt(row.value);
    const label =
      this.k > 1
        ? h(
            'span',
            {},
            h(
              'button',
              {
                class: 'expand',
                onclick: () => {
                  entry.open = !entry.open;
                  this.draw(entry);
                },
              },
              entry.open ? '▾' : '▸',
            ),
            ` ${row.config} (${row.trials.length} seeds)`,
          )
        : h('a', { href: `#/trial/${encodeURIComponent(first.id)}` }, String(first.number));
    const main = h(
      'tr',
      { class: 'row' },
      h('td', { class: 'rank' }),
      h('td', {}, label),
      h('td', {}, badge(row.status)),
      h('td', { class: 'num' }, value),
      this.extra.map((m) => h('td', { class: 'num' }, fmt(mean(row.trials.map((t) => t.metrics[m]))))),
      h(
        'td',
        { class: 'params' },
        Object.entries(first.params)
          .map(([k, v]) => `${k}=${fmt(v)}`)
          .join(' '),
      ),
    );
    const seeds = entry.open
      ? row.trials.map((t) =>
          h(
            'tr',
            { class: 'seed' },
            h('td', {}),
            h(
              'td',
              {},
              h('a', { href: `#/trial/${encodeURIComponent(t.id)}` }, `trial ${t.number}`),
              ` seed ${t.seed}`,
            ),
            h('td', {}, badge(t.status)),
            h('td', { class: 'num' }, fmt(t.metrics[this.objective.metric])),
            this.extra.map((m) => h('td', { class: 'num' }, fmt(t.metrics[m]))),
            h('td', {}),
          ),
        )
      : [];
    entry.el.replaceChildren(main, ...seeds);
  }

  /** Puts the shown rows in rank order, moving only rows that are out of place. */
  private order(): void {
    let list = [...this.rows.values()].map((e) => e.row);
    if (this.filter) list = list.filter((r) => r.trials.some((t) => this.filter!.has(t.number)));
    const ranked =
      this.sort === 'objective' ? rankRows(list, this.objective.mode) : list.sort((a, b) => a.config - b.config);
    const shown = ranked.slice(0, this.limit);
    const entries = shown.map((r) => this.rows.get(r.config)!);
    const next = new Set(entries);
    for (const entry of this.shown) {
      if (next.has(entry) || !entry.el) continue;
      entry.el.remove();
      entry.el = undefined;
      entry.stale = true;
    }
    this.shown = next;
    let cursor = this.table.tHead?.nextSibling ?? null;
    for (const entry of entries) if (entry.stale) this.draw(entry);
    const wanted = entries.map((e) => e.el!);
    wanted.forEach((el, i) => {
      const rank = el.querySelector('td.rank');
      if (rank && rank.textContent !== String(i + 1)) rank.textContent = String(i + 1);
      if (cursor === el) cursor = el.nextSibling;
      else this.table.insertBefore(el, cursor);
    });
    this.more.hidden = ranked.length <= this.limit;
    this.more.textContent = `show more (${ranked.length - this.limit} hidden)`;
    this.el.dataset.rows = String(shown.length);
  }
}

interface Entry {
  row: Row;
  /** Only while shown. */
  el: HTMLTableSectionElement | undefined;
  open: boolean;
  stale: boolean;
}

function mean(values: (number | undefined)[]): number | undefined {
  const finite = values.filter((v): v is number => Number.isFinite(v));
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : undefined;
}
