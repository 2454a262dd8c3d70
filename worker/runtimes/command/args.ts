/**
 * Argument substitution: `${params.NAME}` and `${trial.*}` in `trial.command` and `trial.env`
 * (the rules are in docs/programs.md).
 */
import type { ParamValue, Params } from '../../../shared/spec/space.js';
import { PermanentRunError } from '../base.js';

export interface SubstitutionContext {
  params: Params;
  trialId: string;
  trialNumber: number;
  attemptNumber: number;
  seed: number;
}

function formatValue(value: ParamValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Replaces `${params.NAME}` and `${trial.number|seed|id|attempt}` in one string; `$${` is a
 * literal `${`. Throws PermanentRunError on an unknown name.
 */
export function substitute(text: string, sub: SubstitutionContext, where: string): string {
  return text.replace(/\$?\$\{([^}]*)\}/g, (match: string, inner: string) => {
    if (match.startsWith('$$')) return match.slice(1);
    const ref = inner.trim();
    if (ref.startsWith('params.')) {
      const name = ref.slice('params.'.length);
      const value = Object.prototype.hasOwnProperty.call(sub.params, name) ? sub.params[name] : undefined;
      if (value === undefined) {
        const known = Object.keys(sub.params).sort();
        throw new PermanentRunError(
          `${where}: \${params.${name}} names no parameter of this trial; known params: ${known.length > 0 ? known.join(', ') : '(none)'}`,
        );
      }
      return formatValue(value);
    }
    if (ref.startsWith('trial.')) {
      const field = ref.slice('trial.'.length);
      switch (field) {
        case 'number':
          return String(sub.trialNumber);
        case 'seed':
          return String(sub.seed);
        case 'id':
          return sub.trialId;
        case 'attempt':
          return String(sub.attemptNumber);
        default:
          throw new PermanentRunError(
            `${where}: \${trial.${field}} is unknown; use trial.number, trial.seed, trial.id or trial.attempt`,
          );
      }
    }
    return match;
  });
}
