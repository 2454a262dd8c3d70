/**
 * NatsBus's acknowledged publisher (coordinator/bus/nats-publisher.ts) against a real
 * nats-server: stored once per message id, and each way a publish can fail is told apart
 * (NatsBus retries the retryable ones). Needs NATS_URL (or .services.env).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import {
  AckedPublisher,
  AckTimeoutError,
  NoStreamError,
  PublishRefusedError,
} from '../../coordinator/bus/nats-publisher.js';
import { natsUrl, uniqueName } from '../helpers/services.js';

describe('AckedPublisher (JetStream publishes on core NATS)', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const stream = uniqueName('PUBTEST');
  const subject = stream.toLowerCase();

  before(async () => {
    nc = await connect({ servers: natsUrl() });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`${subject}.>`],
      storage: StorageType.Memory,
      duplicate_window: 60_000 * 1_000_000,
      max_msg_size: 1024,
    });
  });
  after(async () => {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  it('resolves once stored; a second publish of the same id is not stored again', async () => {
    const publisher = new AckedPublisher(nc);
    try {
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => publisher.publish(`${subject}.a`, `{"i":${i}}`, `a-${i}`, 5000)),
      );
      await publisher.publish(`${subject}.a`, '{"i":0}', 'a-0', 5000);
      const info = await jsm.streams.info(stream);
      assert.equal(info.state.messages, 300);
    } finally {
      publisher.close();
    }
  });

  it('no stream on the subject: NoStreamError (retryable, as before the stream exists)', async () => {
    const publisher = new AckedPublisher(nc);
    try {
      await assert.rejects(publisher.publish('nostream.here', '{}', 'x-1', 5000), NoStreamError);
    } finally {
      publisher.close();
    }
  });

  it('a refusal by the stream carries its code: PublishRefusedError', async () => {
    const publisher = new AckedPublisher(nc);
    try {
      const err = await publisher.publish(`${subject}.big`, 'x'.repeat(4096), 'big-1', 5000).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof PublishRefusedError, String(err));
      assert.ok(err.code > 0, `code ${err.code}`);
      assert.match(err.message, /big/);
    } finally {
      publisher.close();
    }
  });

  it('an answer that never comes: AckTimeoutError after the timeout; close rejects what is in flight', async () => {
    // A core subscriber takes the messages and never replies (a stream that does not answer).
    const silent = `${uniqueName('silent')}.x`;
    const sub = nc.subscribe(silent);
    const publisher = new AckedPublisher(nc);
    try {
      const started = Date.now();
      await assert.rejects(publisher.publish(silent, '{}', 's-1', 200), AckTimeoutError);
      assert.ok(Date.now() - started >= 190, 'not before its timeout');
      const pending = publisher.publish(silent, '{}', 's-2', 60_000);
      publisher.close();
      await assert.rejects(pending, /publisher closed/);
      await assert.rejects(publisher.publish(silent, '{}', 's-3', 1000), /publisher closed/);
    } finally {
      publisher.close();
      sub.unsubscribe();
    }
  });
});
