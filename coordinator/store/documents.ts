/**
 * Small rules both stores apply to documents the same way: the status part of a
 * compare-and-set, and the patch semantics of base.ts (a shallow merge where `undefined`
 * removes a field and `id` never changes).
 */
import { clonePlain } from '../../shared/clone.js';

/** True when `expected` is absent, equals status, or (a list) includes it. */
export function matchesStatus(status: unknown, expected: string | readonly string[] | undefined): boolean {
  if (expected === undefined) return true;
  return Array.isArray(expected) ? expected.includes(status as string) : status === expected;
}

/** A deep copy of a document (shared/clone.ts: structuredClone's result, several times faster). */
export function clone<T>(value: T): T {
  return clonePlain(value);
}

/**
 * A metric row's copy: its only nested part is the flat `values` record of numbers, so two
 * spreads copy it fully — ~10× faster than structuredClone, which matters at a million rows.
 */
export function cloneMetric<T extends { values: Record<string, number> }>(doc: T): T {
  return { ...doc, values: { ...doc.values } };
}

/** Shallow merge: `undefined` removes a field; `id` is kept. */
export function applyPatch<T extends { id: string }>(doc: T, patch: Partial<T>): T {
  const next = { ...doc } as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'id' || key === '_id') continue;
    if (value === undefined) delete next[key];
    else next[key] = clone(value);
  }
  return next as T;
}
