/**
 * `trellis watch`: reads NATS JetStream directly when NATS_URL is set, otherwise the
 * coordinator's WatchEvents stream (the same events with the same seq). Exits 0 when the
 * experiment succeeded, 1 when it failed or was cancelled.
 */
import { TrellisClient } from '../client/index.js';
import { isFinalEvent, type TrellisEvent } from '../shared/events.js';
import { ProgressView } from './render.js';
import { env } from '../shared/env.js';
import { callerOptions } from './common.js';
import { objectiveOf } from '../shared/dashboard.js';

export interface WatchOptions {
  coordinator: string;
  fromStart: boolean;
  json: boolean;
}

const isFinal = isFinalEvent;

async function* natsEvents(
  url: string,
  id: string,
  fromStart: boolean,
  signal: AbortSignal,
): AsyncGenerator<TrellisEvent> {
  const { createBus } = await import('../coordinator/bus/registry.js');
  const { NATS_CREDS, NATS_TLS_CA } = env();
  const bus = createBus({
    NATS_URL: url,
    ...(NATS_CREDS ? { NATS_CREDS } : {}),
    ...(NATS_TLS_CA ? { NATS_TLS_CA } : {}),
  });
  await bus.start();
  try {
    yield* bus.subscribe({ experimentId: id, ...(fromStart ? { fromSeq: 1 } : {}), signal });
  } finally {
    await bus.close();
  }
}

export async function watchEvents(id: string, options: WatchOptions): Promise<number> {
  const natsUrl = env().NATS_URL;
  const client = new TrellisClient(options.coordinator, { ...callerOptions(), timeoutMs: 5000 });
  const abort = new AbortController();
  let view: ProgressView | undefined;
  let status = 'running';
  try {
    let totals = { trials: 0, epochs: 1, metric: 'val_accuracy' };
    try {
      const experiment = await client.get(id);
      const spec = experiment.spec as {
        budget?: { trials?: number };
        trial?: { epochs?: number };
      };
      totals = {
        trials: spec.budget?.trials ?? 0,
        epochs: spec.trial?.epochs ?? 1,
        metric: objectiveOf(experiment.spec).metric,
      };
      status = experiment.status;
      if (!options.fromStart && ['succeeded', 'failed', 'cancelled'].includes(status)) {
        if (!options.json) process.stderr.write(`${id} is already ${status}\n`);
        return status === 'succeeded' ? 0 : 1;
      }
    } catch (err) {
      // Reading NATS directly needs no coordinator; without NATS the error is the answer.
      if (!natsUrl) throw err;
    }
    if (!options.json) view = new ProgressView(totals.trials, totals.epochs, totals.metric);
    const events = natsUrl
      ? natsEvents(natsUrl, id, options.fromStart, abort.signal)
      : client.watch(id, {
          liveOnly: !options.fromStart,
          signal: abort.signal,
          // The coordinator disconnects a reader that falls behind; the client resumes where it was.
          onResume: (fromSeq) =>
            process.stderr.write(`reading too slowly for the coordinator: resumed at event ${fromSeq}\n`),
        });
    for await (const event of events) {
      if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
      else view?.onEvent(event);
      if (isFinal(event)) {
        status = String(event.payload.status);
        break;
      }
    }
  } finally {
    abort.abort();
    view?.stop();
    client.close();
  }
  if (!options.json) {
    process.stderr.write(`${id}: ${status}\n`);
    const best = await bestLine(options.coordinator, id);
    if (best) process.stderr.write(`${best}\n`);
  }
  return status === 'succeeded' ? 0 : 1;
}

/** `best: trial #3 val_accuracy=0.91 {lr: 0.01}` once the experiment is over (none: undefined). */
async function bestLine(coordinator: string, id: string): Promise<string | undefined> {
  const client = new TrellisClient(coordinator, { ...callerOptions(), timeoutMs: 5000 });
  try {
    const best = (await client.get(id)).best;
    if (!best) return 'best: none (no trial reported the objective)';
    const ci = best.replicates && best.replicates > 1 ? ` ±${best.ci?.toPrecision(3)} (${best.replicates} seeds)` : '';
    return `best: trial #${best.number} ${best.metric}=${best.value}${ci} ${JSON.stringify(best.params)}`;
  } catch {
    // Watching through NATS needs no coordinator; without one there is no best to show.
    return undefined;
  } finally {
    client.close();
  }
}
