/**
 * Pages of list answers (ListExperiments, ListTrials, ExportMetrics), read from the store a page at
 * a time (keyset pages, coordinator/store/base.ts): a page costs the same however much is stored.
 *
 * A page ends at page_size items or at PAGE_BUDGET_BYTES of JSON-estimated size, whichever comes
 * first, so no answer nears the 4 MB default message limit of gRPC clients (the proto-loader
 * objects' JSON is larger than their binary encoding, so the estimate errs on the safe side). A
 * single item larger than the budget still goes, alone.
 *
 * Tokens are opaque: base64url of `{ w: what is paged, k: the key of the last item sent }` and a
 * checksum. A token is refused (INVALID_ARGUMENT naming page_token) when it is damaged, edited, or
 * from another list. The checksum is not a secret: a caller who forges a valid token can only pick
 * where a page of a list it may read anyway starts.
 */
import { createHash } from 'node:crypto';

import { InvalidArgumentError } from '../shared/errors.js';
import type { ExperimentKey } from './store/base.js';

export const PAGE_BUDGET_BYTES = 2 * 1024 * 1024;

export interface PageRequest {
  page_size?: number;
  page_token?: string;
}

export interface PageLimits {
  defaultSize: number;
  maxSize: number;
  /** What is paged, for errors and to keep a token from one list out of another. */
  what: string;
}

function checksum(payload: string): string {
  return createHash('sha256').update(payload).digest('base64url').slice(0, 16);
}

export function encodeToken(what: string, key: unknown): string {
  const payload = Buffer.from(JSON.stringify({ w: what, k: key })).toString('base64url');
  return `${payload}.${checksum(payload)}`;
}

/** The key a token carries, checked by `isKey`; INVALID_ARGUMENT naming page_token otherwise. */
export function decodeToken<K>(what: string, token: string, isKey: (key: unknown) => key is K): K {
  const [payload = '', check, ...rest] = token.split('.');
  if (rest.length === 0 && check !== undefined && checksum(payload) === check) {
    try {
      const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { w?: unknown; k?: unknown };
      if (parsed.w === what && isKey(parsed.k)) return parsed.k;
    } catch {
      // falls through to the error below
    }
  }
  throw new InvalidArgumentError([`page_token: not a token of a ${what} page (send back next_page_token unchanged)`]);
}

/** The page size asked for (0 = the default); INVALID_ARGUMENT naming page_size out of range. */
export function pageSize(request: PageRequest, limits: PageLimits): number {
  const size = request.page_size ?? 0;
  if (!Number.isInteger(size) || size < 0 || size > limits.maxSize) {
    throw new InvalidArgumentError([
      `page_size: ${size} is not allowed; use 0 (default ${limits.defaultSize}) to ${limits.maxSize}`,
    ]);
  }
  return size === 0 ? limits.defaultSize : size;
}

/**
 * The answer for one page read from the store: its items as protos up to the byte budget, and the
 * token of the next page (empty when nothing follows): the key of the last item sent.
 */
export function answer<T, P>(
  /** `resume`: where the next page starts when every item went (default: after the last item). */
  read: { items: T[]; more: boolean; resume?: unknown },
  what: string,
  toProto: (item: T) => P,
  keyOf: (item: T) => unknown,
): { page: P[]; next_page_token: string } {
  const page: P[] = [];
  const sent: T[] = [];
  let bytes = 0;
  for (const item of read.items) {
    const proto = toProto(item);
    const estimate = JSON.stringify(proto).length;
    if (page.length > 0 && bytes + estimate > PAGE_BUDGET_BYTES) break;
    bytes += estimate;
    page.push(proto);
    sent.push(item);
  }
  if (page.length < read.items.length) return { page, next_page_token: encodeToken(what, keyOf(sent.at(-1)!)) };
  if (!read.more) return { page, next_page_token: '' };
  return { page, next_page_token: encodeToken(what, read.resume ?? keyOf(read.items.at(-1)!)) };
}

export function isInteger(v: unknown): v is number {
  return Number.isSafeInteger(v);
}

/** A ListTrials key: the number of the last trial sent. */
export function isTrialKey(k: unknown): k is { n: number } {
  return typeof k === 'object' && k !== null && Object.keys(k).length === 1 && isInteger((k as { n?: unknown }).n);
}

export function isExperimentKey(k: unknown): k is ExperimentKey {
  if (typeof k !== 'object' || k === null || Object.keys(k).length !== 2) return false;
  const { createdAt, id } = k as { createdAt?: unknown; id?: unknown };
  return isInteger(createdAt) && typeof id === 'string' && id.length > 0 && id.length <= 200;
}
