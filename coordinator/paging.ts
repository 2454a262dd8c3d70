/**
 * Pages of list answers (ListExperiments, ListTrials, ExportMetrics). A page ends at page_size
 * items or at PAGE_BUDGET_BYTES of JSON-estimated size, whichever comes first, so no answer
 * nears the 4 MB default message limit of gRPC clients (the proto-loader objects' JSON is larger
 * than their binary encoding, so the estimate errs on the safe side). A single item larger than
 * the budget still goes, alone. Tokens are opaque (base64url of the next offset and a check).
 */
import { InvalidArgumentError } from '../shared/errors.js';

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

function encodeToken(what: string, offset: number): string {
  return Buffer.from(JSON.stringify({ w: what, o: offset })).toString('base64url');
}

function decodeToken(what: string, token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { w?: unknown; o?: unknown };
    if (parsed.w === what && Number.isSafeInteger(parsed.o) && (parsed.o as number) >= 0) return parsed.o as number;
  } catch {
    // falls through to the error below
  }
  throw new InvalidArgumentError([`page_token: not a token of a ${what} page (send back next_page_token unchanged)`]);
}

export function paginate<T, P>(
  items: readonly T[],
  request: PageRequest,
  limits: PageLimits,
  toProto: (item: T) => P,
): { page: P[]; next_page_token: string } {
  const size = request.page_size ?? 0;
  if (!Number.isInteger(size) || size < 0 || size > limits.maxSize) {
    throw new InvalidArgumentError([
      `page_size: ${size} is not allowed; use 0 (default ${limits.defaultSize}) to ${limits.maxSize}`,
    ]);
  }
  const limit = size === 0 ? limits.defaultSize : size;
  const start = request.page_token ? decodeToken(limits.what, request.page_token) : 0;
  const page: P[] = [];
  let bytes = 0;
  let at = start;
  for (; at < items.length && page.length < limit; at++) {
    const proto = toProto(items[at]!);
    const estimate = JSON.stringify(proto).length;
    if (page.length > 0 && bytes + estimate > PAGE_BUDGET_BYTES) break;
    bytes += estimate;
    page.push(proto);
  }
  return { page, next_page_token: at < items.length ? encodeToken(limits.what, at) : '' };
}
