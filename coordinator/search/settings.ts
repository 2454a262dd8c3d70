/**
 * Validation of plug-in settings (the extra keys of the spec's `search` or `scheduler` block).
 *
 * Each factory reads its settings through a `SettingsReader`, which applies defaults, checks
 * each value and reports problems with the field's path and the rule, e.g.
 * `search.startup: must be an integer >= 1, got 0`. Unknown keys are errors too, listing the
 * allowed ones, so a misspelt setting never silently falls back to its default.
 */
import { InvalidArgumentError } from '../../shared/errors.js';

interface NumberRule {
  min?: number;
  max?: number;
  /** When true, `min` is exclusive (`must be > 0`). */
  minExclusive?: boolean;
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- last resort for what JSON cannot show
    return JSON.stringify(value) ?? String(value);
  } catch {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- last resort (BigInt, cycles)
    return String(value);
  }
}

export class SettingsReader {
  private readonly issues: string[] = [];
  private readonly read = new Set<string>();

  /**
   * @param prefix  `search` or `scheduler`: the spec block the settings came from.
   * @param settings  the block's extra keys.
   * @param structural  keys of the block that are not plug-in settings (algorithm, seed...);
   *   ignored if present.
   */
  constructor(
    private readonly prefix: string,
    private readonly settings: Record<string, unknown>,
    private readonly structural: readonly string[] = [],
  ) {}

  private fail(name: string, rule: string, value: unknown): void {
    this.issues.push(`${this.prefix}.${name}: ${rule}, got ${show(value)}`);
  }

  private raw(name: string): unknown {
    this.read.add(name);
    return this.settings[name];
  }

  private ruleText(rule: NumberRule, integer: boolean): string {
    const parts: string[] = [];
    if (rule.min !== undefined) parts.push(`${rule.minExclusive ? '>' : '>='} ${rule.min}`);
    if (rule.max !== undefined) parts.push(`<= ${rule.max}`);
    const bounds = parts.join(' and ');
    if (integer) return `must be an integer${bounds ? ` ${bounds}` : ''}`;
    return bounds ? `must be ${bounds}` : 'must be a finite number';
  }

  private inRange(value: number, rule: NumberRule): boolean {
    if (rule.min !== undefined && (rule.minExclusive ? value <= rule.min : value < rule.min)) return false;
    if (rule.max !== undefined && value > rule.max) return false;
    return true;
  }

  integer(name: string, fallback: number, rule: NumberRule = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || !this.inRange(value, rule)) {
      this.fail(name, this.ruleText(rule, true), value);
      return fallback;
    }
    return value;
  }

  number(name: string, fallback: number, rule: NumberRule = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.fail(name, 'must be a finite number', value);
      return fallback;
    }
    if (!this.inRange(value, rule)) {
      this.fail(name, this.ruleText(rule, false), value);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(name, 'must be true or false', value);
      return fallback;
    }
    return value;
  }

  /** A `[low, high]` pair of positive numbers with low <= high. */
  positivePair(name: string, fallback: [number, number]): [number, number] {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (
      !Array.isArray(value) ||
      value.length !== 2 ||
      !value.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0) ||
      (value[0] as number) > (value[1] as number)
    ) {
      this.fail(name, 'must be a pair [low, high] of numbers > 0 with low <= high', value);
      return fallback;
    }
    return [value[0] as number, value[1] as number];
  }

  /** Records a check that involves several settings. */
  check(ok: boolean, name: string, rule: string, value: unknown): void {
    if (!ok) this.fail(name, rule, value);
  }

  /** Throws an InvalidArgumentError listing every problem, unknown keys included. */
  done(): void {
    const allowed = [...this.read].sort();
    for (const key of Object.keys(this.settings)) {
      if (this.read.has(key) || this.structural.includes(key)) continue;
      this.issues.push(
        `${this.prefix}.${key}: unknown setting; allowed: ${allowed.length > 0 ? allowed.join(', ') : '(none)'}`,
      );
    }
    if (this.issues.length > 0) throw new InvalidArgumentError(this.issues);
  }
}
