/**
 * LocalStore's sorted indexes, which make its keyset pages (base.ts `list*Page`) cost O(log n +
 * page) instead of O(all rows): a sorted array searched by bisection, and a k-way merge of a few
 * of them (experiments of several statuses, metric rows of several attempts).
 *
 * Rows mostly arrive in key order (trial numbers, steps, newest experiments), so an insert is
 * usually an append or a prepend; an insert in the middle moves pointers (memmove), never rows.
 */
export type Compare<T> = (a: T, b: T) => number;

export class SortedIndex<T> {
  private readonly items: T[] = [];

  constructor(private readonly cmp: Compare<T>) {}

  get size(): number {
    return this.items.length;
  }

  at(i: number): T | undefined {
    return this.items[i];
  }

  /** Position of the first item that sorts after `key` (all items when `key` is undefined). */
  after(key: T | undefined): number {
    if (key === undefined) return 0;
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(this.items[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first item not before `key`. */
  private lowerBound(key: T): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(this.items[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds the item, or replaces the one that compares equal to it. */
  upsert(item: T): void {
    const n = this.items.length;
    if (n === 0 || this.cmp(this.items[n - 1]!, item) < 0) {
      this.items.push(item);
      return;
    }
    const at = this.lowerBound(item);
    if (at < n && this.cmp(this.items[at]!, item) === 0) this.items[at] = item;
    else this.items.splice(at, 0, item);
  }

  /** Removes the item that compares equal to `key`; false when there is none. */
  remove(key: T): boolean {
    const at = this.lowerBound(key);
    if (at >= this.items.length || this.cmp(this.items[at]!, key) !== 0) return false;
    this.items.splice(at, 1);
    return true;
  }

  *values(): IterableIterator<T> {
    yield* this.items;
  }
}

/**
 * The first `limit` items after `key` of several indexes merged in `cmp` order, and whether any
 * item follows them. Visits `limit + 1` items at most (plus one bisection per index).
 */
export function mergedPage<T>(
  indexes: readonly SortedIndex<T>[],
  cmp: Compare<T>,
  key: T | undefined,
  limit: number,
  visit: () => void = () => undefined,
): { items: T[]; more: boolean } {
  const at = indexes.map((index) => index.after(key));
  const items: T[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < indexes.length; i++) {
      const candidate = indexes[i]!.at(at[i]!);
      if (candidate !== undefined && (best < 0 || cmp(candidate, indexes[best]!.at(at[best]!)!) < 0)) best = i;
    }
    if (best < 0) return { items, more: false };
    visit();
    if (items.length === limit) return { items, more: true };
    items.push(indexes[best]!.at(at[best]!)!);
    at[best]!++;
  }
}
