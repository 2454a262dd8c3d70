/** Picks the bus: NatsBus when NATS_URL is set (distributed mode), else the in-process LocalBus. */
import type { EventBus } from './base.js';
import { LocalBus } from './local.js';
import { NatsBus } from './nats.js';

export interface BusEnv {
  /** Comma-separated NATS server URLs. */
  NATS_URL?: string;
  /** Credentials file (JWT + seed). */
  NATS_CREDS?: string;
  /** CA bundle for a NATS server over TLS. */
  NATS_TLS_CA?: string;
  /** Events stream max age: seconds, or a number with s, m, h or d (0 = forever). Unset: leave the stream's. */
  TRELLIS_EVENTS_MAX_AGE?: string;
  /** Events stream max size in bytes (Ki, Mi, Gi, Ti suffixes; -1 = no limit). Unset: leave the stream's. */
  TRELLIS_EVENTS_MAX_BYTES?: string;
}

const SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `7d` → ms; throws naming the variable when it is not a duration. */
export function parseMaxAge(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(text);
  if (!m)
    throw new TypeError(`TRELLIS_EVENTS_MAX_AGE: '${text}' is not a duration (seconds, or e.g. 90s, 30m, 12h, 7d)`);
  return Math.round(Number(m[1]) * SECONDS[(m[2] || 's') as keyof typeof SECONDS] * 1000);
}

/** `512Mi` → bytes; -1 = no limit; throws naming the variable otherwise. */
export function parseMaxBytes(text: string): number {
  const m = /^\s*(-1|\d+)\s*(Ki|Mi|Gi|Ti)?\s*$/.exec(text);
  if (!m || (m[1] === '-1' && m[2])) {
    throw new TypeError(`TRELLIS_EVENTS_MAX_BYTES: '${text}' is not a size (bytes, -1, or e.g. 512Mi, 10Gi)`);
  }
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[m[2] as 'Ki'] ?? 1;
  return Number(m[1]) * unit;
}

export function createBus(env: BusEnv = {}): EventBus {
  if (!env.NATS_URL) return new LocalBus();
  return new NatsBus({
    servers: env.NATS_URL,
    security: {
      ...(env.NATS_CREDS ? { creds: env.NATS_CREDS } : {}),
      ...(env.NATS_TLS_CA ? { tlsCa: env.NATS_TLS_CA } : {}),
    },
    ...(env.TRELLIS_EVENTS_MAX_AGE ? { maxAgeMs: parseMaxAge(env.TRELLIS_EVENTS_MAX_AGE) } : {}),
    ...(env.TRELLIS_EVENTS_MAX_BYTES ? { maxBytes: parseMaxBytes(env.TRELLIS_EVENTS_MAX_BYTES) } : {}),
  });
}
