/**
 * Search-space types shared by the spec schema, the search algorithms and the runtimes.
 *
 * A space maps a parameter path (`lr`, `loss`, `loss.q`, `model.hidden`) to a domain. A domain
 * may carry `when: { parent: value | [values] }`: the parameter exists only in configurations
 * where the named `choice` parameter took one of those values (a conditional space).
 */

export type ParamValue = number | string | boolean | number[] | string[];
export type Params = Record<string, ParamValue>;

export type Condition = Record<string, ParamValue | ParamValue[]>;

export type Domain =
  | { kind: 'choice'; values: ParamValue[]; when?: Condition }
  | { kind: 'uniform'; low: number; high: number; when?: Condition }
  | { kind: 'loguniform'; low: number; high: number; when?: Condition }
  | { kind: 'int'; low: number; high: number; log?: boolean; when?: Condition };

export type Space = Record<string, Domain>;

/** True when every `when` condition of the domain holds for the (partial) params. */
export function conditionHolds(domain: Domain, params: Params): boolean {
  if (!domain.when) return true;
  for (const [parent, expected] of Object.entries(domain.when)) {
    const actual = params[parent];
    if (actual === undefined) return false;
    const allowed = Array.isArray(expected) && !Array.isArray(actual) ? (expected as ParamValue[]) : [expected];
    if (!allowed.some((value) => sameValue(value as ParamValue, actual))) return false;
  }
  return true;
}

export function sameValue(a: ParamValue, b: ParamValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

/**
 * Parameter names ordered so that every parent comes before the parameters conditioned on it.
 * Throws on a condition that names an unknown parameter or forms a cycle (the schema reports
 * these first, with paths; this is the last line of defence).
 */
export function orderedParams(space: Space): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    const mark = state.get(name);
    if (mark === 'done') return;
    if (mark === 'visiting') throw new Error(`search.space.${name}.when: conditions form a cycle`);
    const domain = space[name];
    if (!domain) throw new Error(`search.space: unknown parameter ${name}`);
    state.set(name, 'visiting');
    for (const parent of Object.keys(domain.when ?? {})) visit(parent);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(space).sort()) visit(name);
  return order;
}
