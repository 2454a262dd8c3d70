/**
 * A Store whose calls wait out an unreachable backend: each call that fails with
 * StoreUnavailableError is retried with capped exponential backoff until it succeeds or the
 * signal aborts. The coordinator's own bookkeeping (runners, event log) uses this view, so a
 * MongoDB outage pauses a sweep instead of breaking it; client calls use the plain store and
 * get UNAVAILABLE at once.
 */
import type { Logger } from 'pino';
import type { Store } from './base.js';

export function retrying(store: Store, log: Logger, signal: AbortSignal, maxDelayMs = 2000): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || property === 'start' || property === 'close') {
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return async (...args: unknown[]) => {
        let delay = 50;
        let warned = false;
        for (;;) {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } catch (err) {
            if ((err as Error | undefined)?.name !== 'StoreUnavailableError' || signal.aborted) throw err;
            if (!warned) log.warn({ err, op: String(property) }, 'store unreachable; retrying until it is back');
            warned = true;
            await new Promise((resolve) => setTimeout(resolve, delay));
            delay = Math.min(maxDelayMs, delay * 2);
          }
        }
      };
    },
  });
}
