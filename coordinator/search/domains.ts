/** Helpers shared by the search algorithms: mapping the unit interval onto domains, and walking a
 * (possibly conditional) space in parent-first order. */
import type { Domain, ParamValue, Params, Space } from '../../shared/spec/space.js';
import { conditionHolds, orderedParams } from '../../shared/spec/space.js';

/**
 * Maps u in [0, 1) onto a domain: choices and ints by equal-width cells (log-width for log
 * ints), uniform linearly, loguniform linearly in log space. Results stay inside the bounds.
 */
export function fromUnit(domain: Domain, u: number): ParamValue {
  const t = Math.min(Math.max(u, 0), 1 - Number.EPSILON);
  switch (domain.kind) {
    case 'choice': {
      const index = Math.min(domain.values.length - 1, Math.floor(t * domain.values.length));
      return domain.values[index]!;
    }
    case 'uniform':
      return clamp(domain.low + t * (domain.high - domain.low), domain.low, domain.high);
    case 'loguniform': {
      const lo = Math.log(domain.low);
      return clamp(Math.exp(lo + t * (Math.log(domain.high) - lo)), domain.low, domain.high);
    }
    case 'int': {
      if (domain.log) {
        const lo = Math.log(domain.low);
        const value = Math.floor(Math.exp(lo + t * (Math.log(domain.high + 1) - lo)));
        return clamp(value, domain.low, domain.high);
      }
      return clamp(domain.low + Math.floor(t * (domain.high - domain.low + 1)), domain.low, domain.high);
    }
  }
}

export function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

const choiceIndexes = new WeakMap<Domain, Map<unknown, number>>();

/**
 * The index of `value` among a choice domain's values, or -1. Numbers, strings and booleans
 * compare by identity (1 and "1" differ); lists by content.
 */
export function choiceIndex(domain: Extract<Domain, { kind: 'choice' }>, value: ParamValue): number {
  let index = choiceIndexes.get(domain);
  if (!index) {
    index = new Map();
    for (let i = domain.values.length - 1; i >= 0; i--) index.set(choiceKey(domain.values[i]!), i);
    choiceIndexes.set(domain, index);
  }
  return index.get(choiceKey(value)) ?? -1;
}

function choiceKey(value: ParamValue): unknown {
  return Array.isArray(value) ? `[]${JSON.stringify(value)}` : value;
}

/**
 * Builds one configuration: visits the parameters parent-first and asks `draw` for each one whose
 * condition holds given the values chosen so far. Conditional parameters whose parent took
 * another value are absent from the result.
 */
export function assign(
  space: Space,
  order: readonly string[],
  draw: (name: string, domain: Domain, index: number, params: Params) => ParamValue,
): Params {
  const params: Params = {};
  order.forEach((name, index) => {
    const domain = space[name]!;
    if (conditionHolds(domain, params)) params[name] = draw(name, domain, index, params);
  });
  return params;
}

/** Parent-first parameter order, cached per space object. */
const orders = new WeakMap<Space, string[]>();
export function paramOrder(space: Space): string[] {
  let order = orders.get(space);
  if (!order) {
    order = orderedParams(space);
    orders.set(space, order);
  }
  return order;
}

/** True when the params hold exactly the active parameters of the space, each inside its domain. */
export function isValidConfig(space: Space, params: Params): boolean {
  const order = paramOrder(space);
  const seen = new Set<string>();
  for (const name of order) {
    const domain = space[name]!;
    const active = conditionHolds(domain, params);
    const value = params[name];
    if (!active) {
      if (value !== undefined) return false;
      continue;
    }
    if (value === undefined) return false;
    seen.add(name);
    if (domain.kind === 'choice') {
      if (choiceIndex(domain, value) < 0) return false;
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      if (value < domain.low || value > domain.high) return false;
      if (domain.kind === 'int' && !Number.isInteger(value)) return false;
    }
  }
  return Object.keys(params).every((name) => seen.has(name));
}
