/**
 * MongoStore's documents: Trellis documents to stored ones and back (`_id`, `_rev`, escaped keys,
 * tagged non-finite numbers), patches to update operators, and artifact metadata.
 *
 * Field names: MongoDB (before 5.0) and FerretDB v1 refuse keys containing '.' or starting with
 * '$', which free-form maps (params, metric values, payloads, labels) may well contain. Every key
 * is therefore escaped on the way in ('%' → %25, '.' → %2E, a leading '$' → %24) and unescaped on
 * the way out; ordinary keys are stored unchanged, so queries on them look as usual.
 */
import type { Document, UpdateFilter } from 'mongodb';
import type { TrellisEvent } from '../../shared/events.js';

/** A stored document: the Trellis document's id is its `_id`. */
export type Raw = Document & { _id: string };

export function addStatus(filter: Document, status: string | string[] | undefined): void {
  if (status === undefined) return;
  filter.status = Array.isArray(status) ? { $in: status } : status;
}

/** $set for defined keys, $unset for keys given as undefined; `id`/`_id` are never changed. */
export function toUpdate(patch: object): UpdateFilter<Raw> | undefined {
  const $set: Document = {};
  const $unset: Document = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'id' || key === '_id') continue;
    if (value === undefined) $unset[encodeKey(key)] = '';
    else $set[encodeKey(key)] = encodeKeys(value);
  }
  const update: Document = {};
  if (Object.keys($set).length > 0) update.$set = $set;
  if (Object.keys($unset).length > 0) update.$unset = $unset;
  return Object.keys(update).length > 0 ? (update as UpdateFilter<Raw>) : undefined;
}

export function toRaw(doc: { id: string }): Raw {
  return { ...(encodeKeys(doc) as Document), _id: doc.id };
}

/**
 * Trials also store their params as `paramList: [{ name, value }]`, names exactly as written:
 * `params` keys are escaped (`opt.lr` is `opt%2Elr`), so a query by a dotted name goes through
 * the list: `{ "paramList.name": "opt.lr" }`, or with $elemMatch on MongoDB (docs/schema.md).
 */
export function paramList(params: Record<string, unknown>): Document[] {
  return Object.entries(params).map(([name, value]) => ({ name, value: encodeKeys(value) }));
}

export function fromRaw<T>(raw: Document): T {
  const { _id, _rev, paramList: _paramList, ...rest } = raw;
  return decodeKeys(rest) as T;
}

export function eventFromRaw(raw: Document): TrellisEvent {
  const { _id, published: _published, ...rest } = raw;
  return decodeKeys(rest) as TrellisEvent;
}

export function optional<T>(doc: Document | null, map: (d: Document) => T): T | undefined {
  return doc ? map(doc) : undefined;
}

function encodeKey(key: string): string {
  if (!/[.%$]/.test(key)) return key;
  let out = key.replace(/%/g, '%25').replace(/\./g, '%2E');
  if (out.startsWith('$')) out = '%24' + out.slice(1);
  return out;
}

function decodeKey(key: string): string {
  if (!key.includes('%')) return key;
  return key.replace(/%(2E|24|25)/g, (_m, code: string) => (code === '2E' ? '.' : code === '24' ? '$' : '%'));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * FerretDB v1 drops the connection on a NaN or ±Infinity (its SQLite backend stores JSON), so
 * non-finite numbers are stored as { "trellis:num": "NaN" | "Infinity" | "-Infinity" }.
 */
const NUM_TAG = 'trellis:num';

/** Escapes keys of plain objects and tags non-finite numbers, recursively; drops undefined values. */
export function encodeKeys(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : { [NUM_TAG]: String(value) };
  if (Array.isArray(value)) return value.map(encodeKeys);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[encodeKey(k)] = encodeKeys(v);
  return out;
}

export function decodeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeKeys);
  if (!isPlainObject(value)) return value;
  const tagged = value[NUM_TAG];
  if (typeof tagged === 'string' && Object.keys(value).length === 1) return Number(tagged);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[decodeKey(k)] = decodeKeys(v);
  return out;
}
