/**
 * A trial's metric rows: in memory while it runs (by key, and per attempt sorted by step for
 * keyset pages), and once it has finished in its sealed block in the journal (local-trials.ts),
 * where a page is found by bisection over the block's bytes.
 */
import type { MetricDoc } from '../../shared/types.js';
import { lineAt, lineStartFrom, linesIn, type ByteSource } from './local-cold.js';
import { SortedIndex } from './local-index.js';
import { reviveNumbers } from './local-journal.js';

export interface Rows {
  byKey: Map<string, MetricDoc>;
  byAttempt: Map<number, SortedIndex<MetricDoc>>;
}

/** Step ascending, then the latest attempt first (base.ts listMetricsPage). */
export function byStepLatestFirst(a: { step: number; attempt: number }, b: { step: number; attempt: number }): number {
  return a.step - b.step || b.attempt - a.attempt;
}

export function newRows(): Rows {
  return { byKey: new Map(), byAttempt: new Map() };
}

/** Adds a row unless its (attempt, step) is there; true when added. */
export function addRow(rows: Rows, doc: MetricDoc): boolean {
  const key = `${doc.attempt}:${doc.step}`;
  if (rows.byKey.has(key)) return false;
  rows.byKey.set(key, doc);
  let steps = rows.byAttempt.get(doc.attempt);
  if (!steps) rows.byAttempt.set(doc.attempt, (steps = new SortedIndex<MetricDoc>(byStepLatestFirst)));
  steps.upsert(doc);
  return true;
}

export function parseLine(text: string): { t: string; d: unknown; b?: number; p?: boolean } {
  return JSON.parse(text, reviveNumbers) as { t: string; d: unknown; b?: number; p?: boolean };
}

/** Every row of a sealed block, in block order. */
export function readBlock(source: ByteSource, b: { start: number; end: number }, visit: () => void): MetricDoc[] {
  const out: MetricDoc[] = [];
  for (const { text } of linesIn(source, b.start, b.end)) {
    visit();
    out.push(parseLine(text).d as MetricDoc);
  }
  return out;
}

/**
 * A page of a sealed block's rows after `afterStep`: the first row of a later step found by
 * bisection over the block's bytes (a line or two read per probe), then `limit + 1` rows read.
 */
export function blockPage(
  source: ByteSource,
  b: { start: number; end: number },
  afterStep: number | undefined,
  limit: number,
  visit: () => void,
): { items: MetricDoc[]; more: boolean } {
  let lo = b.start;
  let hi = b.end;
  while (afterStep !== undefined && lo < hi) {
    const p = lineStartFrom(source, lo + Math.floor((hi - lo) / 2), lo);
    const probe = p < hi ? p : lo;
    const line = lineAt(source, probe);
    visit();
    if ((parseLine(line.text).d as MetricDoc).step > afterStep) hi = probe;
    else lo = line.next;
  }
  const items: MetricDoc[] = [];
  for (const { text } of linesIn(source, lo, b.end)) {
    visit();
    if (items.length === limit) return { items, more: true };
    items.push(parseLine(text).d as MetricDoc);
  }
  return { items, more: false };
}
