/** Picks the bus: NatsBus when NATS_URL is set (distributed mode), else the in-process LocalBus. */
import type { EventBus } from './base.js';
import { LocalBus } from './local.js';
import { NatsBus } from './nats.js';

export interface BusEnv {
  /** Comma-separated NATS server URLs. */
  NATS_URL?: string;
}

export function createBus(env: BusEnv = {}): EventBus {
  return env.NATS_URL ? new NatsBus({ servers: env.NATS_URL }) : new LocalBus();
}
