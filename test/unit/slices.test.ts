/**
 * The server's slices (coordinator/flow/slices.ts): worker messages handled in arrival order, in
 * slices that end the event loop's turn once they have run SLICE_MS (so what a slice sent goes
 * out before the next one starts), a stream held paused while too many of its messages wait,
 * and its close handled after its messages.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PauseHolds, Slices, slicedReader } from '../../coordinator/flow/slices.js';

/** A stream that counts its pauses and resumes, and says whether it is paused now. */
function fakeStream(): { pause(): void; resume(): void; paused: boolean; pauses: number; resumes: number } {
  return {
    paused: false,
    pauses: 0,
    resumes: 0,
    pause() {
      this.paused = true;
      this.pauses++;
    },
    resume() {
      this.paused = false;
      this.resumes++;
    },
  };
}

describe('Slices: worker messages handled in slices of the event loop', () => {
  it('handles work in the order it was queued, not in the turn that queued it', async () => {
    const slices = new Slices();
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      for (let i = 0; i < 50; i++) slices.run(() => order.push(`m${i}`));
      slices.run(resolve);
    });
    assert.deepEqual(order, [], 'nothing runs in the turn that queued it');
    await done;
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => `m${i}`),
    );
    assert.equal(slices.waiting, 0);
  });

  it('ends the turn once a slice has run SLICE_MS: what the slice scheduled runs before the rest', async () => {
    let clock = 0; // a clock the handlers move: the test does not depend on this machine's speed
    const slices = new Slices(4, () => clock);
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      slices.run(() => {
        // Stands for an HTTP/2 write, which Node sends at the end of the turn (check phase).
        setImmediate(() => order.push('sent'));
        clock += 3;
        order.push('first');
      });
      slices.run(() => {
        clock += 3;
        order.push('second');
      });
      slices.run(() => order.push('third'));
      slices.run(resolve);
    });
    assert.deepEqual(order, ['first', 'second', 'sent', 'third']);
  });

  it('goes on with what is queued when a handler throws, and lets the error out', async () => {
    const slices = new Slices();
    const seen: unknown[] = [];
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.once('uncaughtException', (err) => seen.push(err));
    try {
      await new Promise<void>((resolve) => {
        slices.run(() => {
          throw new Error('handler failed');
        });
        slices.run(resolve);
      });
    } finally {
      for (const l of listeners) process.on('uncaughtException', l);
    }
    assert.equal(seen.length, 1);
    assert.match(String(seen[0]), /handler failed/);
  });
});

describe('slicedReader: one stream into the slices', () => {
  it('pauses a stream with 16 messages waiting, resumes it at 8, and handles them all in order', async () => {
    const slices = new Slices();
    const stream = fakeStream();
    const handled: number[] = [];
    const pausedWhenHandled: boolean[] = [];
    let closedAfter = -1;
    const closed = new Promise<void>((resolve) => {
      const reader = slicedReader<number>(
        slices,
        new PauseHolds(stream),
        (n) => {
          handled.push(n);
          pausedWhenHandled.push(stream.paused);
        },
        () => {
          closedAfter = handled.length;
          resolve();
        },
      );
      for (let i = 0; i < 15; i++) reader.data(i);
      assert.equal(stream.paused, false, '15 waiting: still reading');
      reader.data(15);
      assert.equal(stream.paused, true, '16 waiting: paused');
      reader.close();
      reader.close();
    });
    await closed;
    assert.deepEqual(
      handled,
      Array.from({ length: 16 }, (_, i) => i),
    );
    assert.equal(closedAfter, 16, 'the close comes after every message, once');
    assert.equal(stream.paused, false);
    assert.equal(stream.pauses, 1);
    assert.equal(stream.resumes, 1);
    // Resumed once 8 were left waiting: from the 8th message handled (index 7) on, the stream reads.
    assert.equal(pausedWhenHandled[6], true);
    assert.equal(pausedWhenHandled[7], false);
  });

  it('keeps a stream paused while another reason (report pacing) still holds it', async () => {
    const slices = new Slices();
    const stream = fakeStream();
    const pauses = new PauseHolds(stream);
    pauses.hold('rate');
    const reader = slicedReader<number>(
      slices,
      pauses,
      () => undefined,
      () => undefined,
      2,
    );
    reader.data(1);
    reader.data(2);
    await new Promise<void>((resolve) => slices.run(resolve));
    assert.equal(stream.paused, true, 'the queue drained, but the rate hold stands');
    pauses.release('rate');
    assert.equal(stream.paused, false);
    assert.equal(stream.pauses, 1);
    assert.equal(stream.resumes, 1);
  });
});
