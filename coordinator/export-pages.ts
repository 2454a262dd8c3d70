/**
 * ExportMetrics a page at a time: an experiment's metric rows by trial number, then step, with
 * one row per (trial, step) — the latest attempt's, as Coordinator.exportMetrics gives them — read
 * through the store's keyset pages of trials and of each trial's rows. A page reads at most its
 * own rows (plus the lower attempts' rows of the steps it sends, and one row per store page that
 * says more follow) and trials in batches of at most the page size, TRIALS_PER_PAGE in all,
 * however many rows are stored.
 */
import type { Store } from './store/base.js';
import type { MetricDoc } from '../shared/types.js';

/** Where a page starts: trial number `n`, after step `s` (from its first step when `s` is absent). */
export interface ExportKey {
  n: number;
  s?: number;
}

export type ExportRow = MetricDoc & { trialNumber: number };

/** Trials looked at by one page at most: a page over many trials without rows still ends. */
export const TRIALS_PER_PAGE = 1000;

export function isExportKey(k: unknown): k is ExportKey {
  if (typeof k !== 'object' || k === null) return false;
  const { n, s, ...rest } = k as Record<string, unknown>;
  return (
    Object.keys(rest).length === 0 &&
    Number.isSafeInteger(n) &&
    (n as number) >= 0 &&
    (s === undefined || (typeof s === 'number' && Number.isFinite(s)))
  );
}

export function exportKeyOf(row: ExportRow): ExportKey {
  return { n: row.trialNumber, s: row.step };
}

/**
 * Up to `limit` rows from `from`. `more` is true when rows may follow (the next page may then be
 * short, even empty, until one answers `more: false`); `resume` is where it starts when that is not
 * right after the last row (the trial budget ran out).
 */
export async function exportPage(
  store: Store,
  experimentId: string,
  from: ExportKey | undefined,
  limit: number,
): Promise<{ items: ExportRow[]; more: boolean; resume?: ExportKey }> {
  const rows: ExportRow[] = [];
  let afterNumber = from ? from.n - 1 : undefined;
  let visited = 0;
  for (;;) {
    // Trials in batches no larger than the page: a small page reads few trials ahead.
    const batch = Math.min(100, limit, TRIALS_PER_PAGE - visited);
    const trials = await store.listTrialsPage(experimentId, {
      ...(afterNumber === undefined ? {} : { afterNumber }),
      limit: batch,
    });
    for (const trial of trials.items) {
      visited++;
      let afterStep = from && trial.number === from.n ? from.s : undefined;
      for (;;) {
        const page = await store.listMetricsPage(trial.id, {
          ...(afterStep === undefined ? {} : { afterStep }),
          limit: limit - rows.length,
        });
        for (const m of page.items) {
          // Within a step the latest attempt comes first: the rows after it are older attempts'.
          if (m.step === afterStep) continue;
          afterStep = m.step;
          rows.push({ ...m, trialNumber: trial.number });
          if (rows.length === limit) return { items: rows, more: true };
        }
        if (!page.more) break;
      }
      afterNumber = trial.number;
    }
    if (!trials.more) return { items: rows, more: false };
    if (visited >= TRIALS_PER_PAGE) return { items: rows, more: true, resume: { n: afterNumber! + 1 } };
  }
}
