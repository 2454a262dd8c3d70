/**
 * The EventBus contract (coordinator/bus/base.ts), run against LocalBus and NatsBus.
 * NatsBus needs NATS_URL (or .services.env from `node scripts/services.mjs up`); every test uses
 * fresh experiment ids, because the stream is shared with other test files. Tests that restart
 * the server or shrink the duplicate window use a private nats-server.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import type { EventBus, SubscribeOptions } from '../../coordinator/bus/base.js';
import { LOCAL_BUS_HISTORY_LIMIT, LocalBus } from '../../coordinator/bus/local.js';
import { NatsBus } from '../../coordinator/bus/nats.js';
import { createBus } from '../../coordinator/bus/registry.js';
import type { TrellisEvent } from '../../shared/events.js';
import { natsUrl, startPrivateNats, TcpProxy, uniqueName, waitUntil } from '../helpers/services.js';

function ev(experimentId: string, seq: number, over: Partial<TrellisEvent> = {}): TrellisEvent {
  return {
    seq,
    type: 'trial.metric',
    time: 1_700_000_000_000 + seq,
    experimentId,
    trialNumber: seq % 3,
    payload: { step: seq, attempt: 1, values: { 'val.acc': seq / 100 } },
    ...over,
  } as TrellisEvent; // `over` may change the type together with its payload
}

function workerEvent(workerId: string, time: number): TrellisEvent {
  return { seq: 0, type: 'worker.state', time, workerId, payload: { status: 'connected' } };
}

/** Reads a subscription in the background. */
class Reader {
  readonly events: TrellisEvent[] = [];
  readonly done: Promise<void>;
  private failure: unknown;

  constructor(iterable: AsyncIterable<TrellisEvent>) {
    this.done = (async () => {
      try {
        for await (const e of iterable) this.events.push(e);
      } catch (err) {
        this.failure = err;
        throw err;
      }
    })();
    this.done.catch(() => undefined);
  }

  of(experimentId: string): number[] {
    return this.events.filter((e) => e.experimentId === experimentId).map((e) => e.seq);
  }

  async waitFor(predicate: (events: TrellisEvent[]) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    await waitUntil(
      () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows whatever the subscription threw
        if (this.failure) throw this.failure;
        return predicate(this.events);
      },
      timeoutMs,
      what,
    );
  }

  /** Waits until the experiment's event `seq` arrived. */
  async waitForSeq(experimentId: string, seq: number): Promise<void> {
    await this.waitFor(
      (events) => events.some((e) => e.experimentId === experimentId && e.seq === seq),
      `${experimentId} seq ${seq}`,
    );
  }

  async ended(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`subscription did not end within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

interface Backend {
  name: string;
  create(): EventBus;
}

const backends: Backend[] = [
  { name: 'LocalBus', create: () => new LocalBus() },
  { name: 'NatsBus', create: () => new NatsBus({ servers: natsUrl() }) },
];

for (const backend of backends) {
  describe(`EventBus contract: ${backend.name}`, () => {
    let bus: EventBus;
    const controllers: AbortController[] = [];
    const subscribe = (options: SubscribeOptions): Reader => {
      const controller = new AbortController();
      controllers.push(controller);
      return new Reader(bus.subscribe({ signal: controller.signal, ...options }));
    };

    beforeEach(async () => {
      bus = backend.create();
      await bus.start();
    });
    afterEach(async () => {
      for (const c of controllers.splice(0)) c.abort();
      await bus.close();
    });

    it('start and close are idempotent; publish after close rejects', async () => {
      await bus.start();
      await bus.close();
      await bus.close();
      await assert.rejects(bus.publish(ev(uniqueName('exp'), 1)));
      const reader = new Reader(bus.subscribe({ experimentId: uniqueName('exp'), fromSeq: 1 }));
      await reader.ended();
      assert.deepEqual(reader.events, []);
    });

    it("delivers one experiment's events in publish order, seq without gaps", async () => {
      const a = uniqueName('exp-a');
      const b = uniqueName('exp-b');
      const reader = subscribe({ experimentId: a });
      for (const seq of range(1, 30)) {
        await bus.publish(ev(a, seq));
        await bus.publish(ev(b, seq));
      }
      await reader.waitForSeq(a, 30);
      assert.deepEqual(
        reader.events.map((e) => e.seq),
        range(1, 30),
      );
      assert.ok(reader.events.every((e) => e.experimentId === a));
      assert.deepEqual(reader.events[4], ev(a, 5));
    });

    it('replays from the start after events were published, then goes on live', async () => {
      const a = uniqueName('exp');
      for (const seq of range(1, 10)) await bus.publish(ev(a, seq));
      const reader = subscribe({ experimentId: a, fromSeq: 1 });
      await reader.waitForSeq(a, 10);
      for (const seq of range(11, 15)) await bus.publish(ev(a, seq));
      await reader.waitForSeq(a, 15);
      assert.deepEqual(reader.of(a), range(1, 15));
      const fromSeven = subscribe({ experimentId: a, fromSeq: 7 });
      await fromSeven.waitForSeq(a, 15);
      assert.deepEqual(fromSeven.of(a), range(7, 15));
    });

    it('a live subscription sees what is published after it was made', async () => {
      const a = uniqueName('exp');
      for (const seq of range(1, 5)) await bus.publish(ev(a, seq));
      const reader = subscribe({ experimentId: a });
      for (const seq of range(6, 8)) await bus.publish(ev(a, seq));
      await reader.waitForSeq(a, 8);
      assert.deepEqual(reader.of(a), [6, 7, 8]);
    });

    it('drops a re-published event', async () => {
      const a = uniqueName('exp');
      const live = subscribe({ experimentId: a, fromSeq: 1 });
      await bus.publish(ev(a, 1));
      await bus.publish(ev(a, 2));
      await bus.publish(ev(a, 2, { payload: { step: 2, attempt: 2, values: { retried: 1 } } }));
      await bus.publish(ev(a, 1));
      await bus.publish(ev(a, 3));
      await live.waitForSeq(a, 3);
      assert.deepEqual(live.of(a), [1, 2, 3]);
      assert.deepEqual(live.events[1], ev(a, 2));
      const replay = subscribe({ experimentId: a, fromSeq: 1 });
      await replay.waitForSeq(a, 3);
      assert.deepEqual(replay.of(a), [1, 2, 3]);
    });

    it('a subscription to everything sees every experiment and worker events', async () => {
      const a = uniqueName('exp-a');
      const b = uniqueName('exp-b');
      const w = uniqueName('worker');
      const all = subscribe({});
      await bus.publish(ev(a, 1));
      await bus.publish(workerEvent(w, 1));
      await bus.publish(workerEvent(w, 1)); // the same worker event again
      await bus.publish(ev(b, 1));
      await bus.publish(ev(a, 2));
      await all.waitFor(
        (events) => events.some((e) => e.experimentId === a && e.seq === 2) && events.some((e) => e.experimentId === b),
        'a2 and b1',
      );
      assert.deepEqual(all.of(a), [1, 2]);
      assert.deepEqual(all.of(b), [1]);
      assert.deepEqual(
        all.events.filter((e) => e.workerId === w),
        [workerEvent(w, 1)],
      );
      // Replay skips worker events (seq 0): they are live only.
      const replay = subscribe({ fromSeq: 1 });
      await replay.waitFor((events) => events.some((e) => e.experimentId === a && e.seq === 2), 'replayed a2');
      assert.deepEqual(replay.of(a), [1, 2]);
      assert.equal(replay.events.filter((e) => e.workerId === w).length, 0);
    });

    it('a subscription ends when its signal aborts or the bus closes', async () => {
      const a = uniqueName('exp');
      const controller = new AbortController();
      const reader = new Reader(bus.subscribe({ experimentId: a, fromSeq: 1, signal: controller.signal }));
      await bus.publish(ev(a, 1));
      await reader.waitForSeq(a, 1);
      controller.abort();
      await reader.ended();
      assert.deepEqual(reader.of(a), [1]);

      const aborted = new AbortController();
      aborted.abort();
      const never = new Reader(bus.subscribe({ experimentId: a, fromSeq: 1, signal: aborted.signal }));
      await never.ended();
      assert.deepEqual(never.events, []);

      const idle = new Reader(bus.subscribe({ experimentId: a }));
      await bus.publish(ev(a, 2));
      await idle.waitForSeq(a, 2);
      await bus.close();
      await idle.ended();
    });

    it('breaking out of the loop ends the subscription', async () => {
      const a = uniqueName('exp');
      for (const seq of range(1, 5)) await bus.publish(ev(a, seq));
      const seen: number[] = [];
      for await (const e of bus.subscribe({ experimentId: a, fromSeq: 1 })) {
        seen.push(e.seq);
        if (e.seq === 3) break;
      }
      assert.deepEqual(seen, [1, 2, 3]);
    });
  });
}

describe('NatsBus: outages', () => {
  it('publish waits through a connection cut and subscriptions resume without gaps', async () => {
    const proxy = TcpProxy.forUrl(natsUrl());
    await proxy.start();
    const bus = new NatsBus({
      servers: `nats://127.0.0.1:${proxy.port}`,
      publishTimeoutMs: 20_000,
      ackTimeoutMs: 1000,
    });
    const controller = new AbortController();
    try {
      await bus.start();
      const a = uniqueName('exp');
      const replaying = new Reader(bus.subscribe({ experimentId: a, fromSeq: 1, signal: controller.signal }));
      for (const seq of range(1, 3)) await bus.publish(ev(a, seq));
      await replaying.waitForSeq(a, 3);
      await proxy.cut();
      const pending = bus.publish(ev(a, 4));
      await proxy.restore();
      await pending;
      await bus.publish(ev(a, 5));
      await replaying.waitForSeq(a, 5);
      assert.deepEqual(replaying.of(a), range(1, 5));
    } finally {
      controller.abort();
      await bus.close();
      await proxy.stop();
    }
  });

  it('survives a server restart: publishes retry, replaying and live subscriptions resume', async () => {
    const nats = await startPrivateNats();
    const bus = new NatsBus({ servers: nats.url, publishTimeoutMs: 30_000, ackTimeoutMs: 1000 });
    const controller = new AbortController();
    try {
      await bus.start();
      const a = uniqueName('exp');
      const replaying = new Reader(bus.subscribe({ experimentId: a, fromSeq: 1, signal: controller.signal }));
      for (const seq of range(1, 3)) await bus.publish(ev(a, seq));
      await replaying.waitForSeq(a, 3);
      // A live subscription that has received nothing yet must not replay history after the restart.
      const live = new Reader(bus.subscribe({ experimentId: a, signal: controller.signal }));
      const everything = new Reader(bus.subscribe({ signal: controller.signal }));
      await bus.publish(ev(a, 4));
      await live.waitForSeq(a, 4);
      await everything.waitForSeq(a, 4);
      await nats.restart();
      for (const seq of range(5, 7)) await bus.publish(ev(a, seq));
      await replaying.waitForSeq(a, 7);
      await live.waitForSeq(a, 7);
      await everything.waitForSeq(a, 7);
      assert.deepEqual(replaying.of(a), range(1, 7));
      assert.deepEqual(live.of(a), range(4, 7));
      assert.deepEqual(everything.of(a), range(4, 7));
      // The stream (file storage) kept everything across the restart.
      const after = new Reader(bus.subscribe({ experimentId: a, fromSeq: 1, signal: controller.signal }));
      await after.waitForSeq(a, 7);
      assert.deepEqual(after.of(a), range(1, 7));
    } finally {
      controller.abort();
      await bus.close();
      await nats.stop();
    }
  });

  it('start fails with a clear error when nothing listens, and publish times out as unavailable', async () => {
    const proxy = TcpProxy.forUrl(natsUrl());
    await proxy.start();
    const port = proxy.port;
    const bus = new NatsBus({ servers: `nats://127.0.0.1:${port}`, publishTimeoutMs: 1500, ackTimeoutMs: 300 });
    try {
      await bus.start();
      await proxy.cut();
      await assert.rejects(bus.publish(ev(uniqueName('exp'), 1)), { name: 'BusUnavailableError' });
    } finally {
      await bus.close();
      await proxy.stop();
    }
    const nobody = new NatsBus({ servers: `nats://127.0.0.1:${port}` });
    await assert.rejects(nobody.start(), { name: 'BusUnavailableError' });
    await nobody.close();
  });

  it('drops a re-published event even after the duplicate window', async () => {
    const nats = await startPrivateNats();
    const bus = new NatsBus({ servers: nats.url, duplicateWindowMs: 200 });
    const controller = new AbortController();
    try {
      await bus.start();
      const a = uniqueName('exp');
      const reader = new Reader(bus.subscribe({ experimentId: a, fromSeq: 1, signal: controller.signal }));
      await bus.publish(ev(a, 1));
      await bus.publish(ev(a, 2));
      await reader.waitForSeq(a, 2);
      await new Promise((r) => setTimeout(r, 400)); // the window is time itself: let it pass
      await bus.publish(ev(a, 2)); // stored again by the server, dropped by the subscriber
      await bus.publish(ev(a, 3));
      await reader.waitForSeq(a, 3);
      assert.deepEqual(reader.of(a), [1, 2, 3]);
      const replay = new Reader(bus.subscribe({ experimentId: a, fromSeq: 1, signal: controller.signal }));
      await replay.waitForSeq(a, 3);
      assert.deepEqual(replay.of(a), [1, 2, 3]);
    } finally {
      controller.abort();
      await bus.close();
      await nats.stop();
    }
  });
});

describe('LocalBus: bounded history', () => {
  it('keeps the newest historyLimit events over all experiments, replays those, and still drops re-publishes', async () => {
    const bus = new LocalBus({ historyLimit: 5 });
    await bus.start();
    const controller = new AbortController();
    try {
      for (const seq of range(1, 4)) await bus.publish(ev('a', seq));
      for (const seq of range(1, 3)) await bus.publish(ev('b', seq));
      assert.equal(bus.historySize, 5, "two of a's events were dropped");
      const replayA = new Reader(bus.subscribe({ experimentId: 'a', fromSeq: 1, signal: controller.signal }));
      const replayB = new Reader(bus.subscribe({ experimentId: 'b', fromSeq: 1, signal: controller.signal }));
      // a re-published event that was dropped stays dropped; a new one goes through
      await bus.publish(ev('a', 1));
      await bus.publish(ev('a', 5));
      await replayA.waitForSeq('a', 5);
      await replayB.waitForSeq('b', 3);
      assert.deepEqual(replayA.of('a'), [3, 4, 5]);
      assert.deepEqual(replayB.of('b'), [1, 2, 3]);
      assert.equal(bus.historySize, 5);
      for (const seq of range(6, 3000)) await bus.publish(ev('a', seq));
      assert.equal(bus.historySize, 5);
      const tail = new Reader(bus.subscribe({ fromSeq: 1, signal: controller.signal }));
      await tail.waitForSeq('a', 3000);
      assert.deepEqual(tail.of('a'), range(2996, 3000));
      assert.deepEqual(tail.of('b'), []);
    } finally {
      controller.abort();
      await bus.close();
    }
  });

  it('holds at most 10,000 events by default (a held event costs ~800 B of heap)', async () => {
    const bus = new LocalBus();
    await bus.start();
    try {
      for (const seq of range(1, 12_000)) await bus.publish(ev('a', seq));
      assert.equal(bus.historySize, 10_000);
      assert.equal(LOCAL_BUS_HISTORY_LIMIT, 10_000);
    } finally {
      await bus.close();
    }
  });

  it('refuses a historyLimit below 1', () => {
    assert.throws(() => new LocalBus({ historyLimit: 0 }), /historyLimit is 0, but must be an integer >= 1/);
  });
});

describe('bus registry', () => {
  it('picks NatsBus with NATS_URL and LocalBus without', () => {
    assert.equal(createBus({ NATS_URL: natsUrl() }).kind, 'nats');
    assert.equal(createBus({}).kind, 'local');
    assert.equal(createBus().kind, 'local');
  });
});
