/**
 * No poison pills: an experiment whose runner throws (in its constructor, on stored data a newer
 * rule refuses, or while running) is marked `failed` with the error and is never resumed, so a
 * coordinator that restarts on the same store serves instead of crashing on it again. Failed is
 * terminal (shared/states.ts), and start-up resumes only pending and running experiments.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/base.js';
import type { EventLog } from '../event-log.js';

export interface QuarantineContext {
  store: Store;
  events: EventLog;
  log: Logger;
}

/** The error a quarantined experiment carries: what threw, and that it will not be resumed. */
export function quarantineError(err: unknown): string {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return `experiment runner failed: ${message.slice(0, 2000)} (quarantined: not resumed on restart)`;
}

/** Marks the experiment failed (if still pending or running) and emits its terminal state event. */
export async function quarantine(id: string, err: unknown, ctx: QuarantineContext): Promise<void> {
  const error = quarantineError(err);
  ctx.log.error({ experimentId: id, err }, 'experiment runner failed; experiment quarantined');
  try {
    const updated = await ctx.store.updateExperiment(
      id,
      { status: ['pending', 'running'] },
      { status: 'failed', error, updatedAt: Date.now() },
    );
    if (updated) ctx.events.emit({ type: 'experiment.state', experimentId: id, payload: { status: 'failed', error } });
  } catch (storeErr) {
    ctx.log.error({ experimentId: id, err: storeErr }, 'quarantine not recorded');
  }
}
