/**
 * Event reconciliation after a restart: a coordinator killed between storing a change and
 * storing its event left that event unwritten. Every trial's state and every stored metric
 * report that the event log does not show yet is emitted now, so the stream ends up describing
 * the stored state.
 */
import type { Logger } from 'pino';
import type { TrialDoc } from '../../shared/types.js';
import type { Store } from '../store/base.js';
import type { EventLog } from '../event-log.js';
import type { TrialWriter } from './trial-writer.js';

export async function reconcileEvents(
  experimentId: string,
  trials: readonly TrialDoc[],
  ctx: { store: Store; events: EventLog; writer: TrialWriter; log: Logger },
): Promise<void> {
  const lastState = new Map<number, string>();
  const metricSteps = new Map<number, Set<string>>();
  let experimentState: string | undefined;
  for (const event of await ctx.store.listEvents(experimentId, 1)) {
    if (event.type === 'experiment.state') experimentState = event.payload.status;
    if (event.trialNumber === undefined) continue;
    if (event.type === 'trial.state') lastState.set(event.trialNumber, event.payload.status);
    if (event.type === 'trial.metric') {
      const seen = metricSteps.get(event.trialNumber) ?? new Set<string>();
      seen.add(`${event.payload.attempt}:${event.payload.step}`);
      metricSteps.set(event.trialNumber, seen);
    }
  }
  let emitted = 0;
  if (experimentState !== 'running') {
    ctx.events.emit({ type: 'experiment.state', experimentId, payload: { status: 'running' } });
    emitted++;
  }
  for (const trial of trials) {
    for (const m of await ctx.store.listMetrics(trial.id)) {
      if (metricSteps.get(trial.number)?.has(`${m.attempt}:${m.step}`)) continue;
      ctx.writer.emitMetric(trial, m.attempt, m.step, m.values);
      emitted++;
    }
    if (lastState.get(trial.number) !== trial.status) {
      ctx.writer.emitState(trial);
      emitted++;
    }
  }
  if (emitted > 0) ctx.log.info({ emitted }, 'emitted events a killed coordinator had not stored');
}
