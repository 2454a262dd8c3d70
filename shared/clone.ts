/**
 * A deep copy of plain data (the documents, events and specs the stores and buses keep), with
 * the result structuredClone gives: objects and arrays are copied member by member, primitives
 * kept; anything else (a Date, Map, Buffer, typed array, class instance) is copied by
 * structuredClone itself. structuredClone serialises and deserialises its whole argument, which
 * costs several times more on the small nested documents a trial's dispatch copies a dozen
 * times (bench/README.md, "dispatch"). Cycles are not supported (plain documents have none):
 * past MAX_DEPTH levels the rest is handed to structuredClone, which copies cycles too.
 */

const MAX_DEPTH = 64;

export function clonePlain<T>(value: T): T {
  return copy(value, 0) as T;
}

function copy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) {
    // structuredClone refuses functions and symbols; so does this.
    if (typeof value === 'function' || typeof value === 'symbol') return structuredClone(value);
    return value;
  }
  if (depth >= MAX_DEPTH) return structuredClone(value);
  if (Array.isArray(value)) {
    // A sparse array (or a subclass) is left to structuredClone, which keeps its holes.
    if (Object.getPrototypeOf(value) !== Array.prototype) return structuredClone(value);
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return structuredClone(value);
      out[i] = copy(value[i], depth + 1);
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key], depth + 1);
  return out;
}
