/**
 * The events stream on a real nats-server: retention an operator set survives a coordinator
 * restart; TRELLIS_EVENTS_MAX_AGE / _MAX_BYTES set it; a worker id with dots publishes on one
 * subject token.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsBus, STREAM_NAME } from '../../coordinator/bus/nats.js';
import { createBus } from '../../coordinator/bus/registry.js';
import { natsUrl, uniqueName } from '../helpers/services.js';

const NS_PER_MS = 1_000_000;
const DAY_MS = 86_400_000;

describe('events stream', () => {
  it('keeps the retention an operator set across a restart, and applies the configured one', async () => {
    const url = natsUrl();
    const nc = await connect({ servers: url });
    const jsm = await jetstreamManager(nc);
    const first = new NatsBus({ servers: url });
    try {
      await first.start();
      await first.close();
      // The operator: `nats stream edit TRELLIS_EVENTS --max-age 7d`.
      await jsm.streams.update(STREAM_NAME, { max_age: 7 * DAY_MS * NS_PER_MS });

      const restarted = createBus({ NATS_URL: url });
      await restarted.start();
      await restarted.close();
      assert.equal((await jsm.streams.info(STREAM_NAME)).config.max_age, 7 * DAY_MS * NS_PER_MS, 'max age kept');

      const configured = createBus({ NATS_URL: url, TRELLIS_EVENTS_MAX_AGE: '30d', TRELLIS_EVENTS_MAX_BYTES: '1Gi' });
      await configured.start();
      const config = (await jsm.streams.info(STREAM_NAME)).config;
      assert.equal(config.max_age, 30 * DAY_MS * NS_PER_MS);
      assert.equal(config.max_bytes, 2 ** 30);

      // A worker id with dots is one subject token.
      const workerId = `${uniqueName('node')}.lab.example`;
      await configured.publish({
        seq: 0,
        type: 'worker.state',
        time: Date.now(),
        workerId,
        payload: { status: 'connected' },
      });
      const subject = `trellis.v1.worker.${workerId.replaceAll('.', '%2E')}.state`;
      const message = await jsm.streams.getMessage(STREAM_NAME, { last_by_subj: subject });
      assert.ok(message, subject);
      assert.equal((message.json() as { workerId: string }).workerId, workerId);
      await configured.close();
    } finally {
      // Back to the defaults other tests expect (no limits).
      await jsm.streams.update(STREAM_NAME, { max_age: 0, max_bytes: -1 }).catch(() => undefined);
      await nc.close();
    }
  });
});
