/**
 * LocalStore keeps no artifact meta in memory (issue 15 §4): each lives in a file beside the
 * artifact's bytes, so a command sweep's one log per attempt costs the coordinator nothing per
 * attempt. Journals of earlier builds, whose `artifact` records held the metas, are migrated at
 * start: the artifact stays readable, through the start-up snapshot and another restart.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStore } from '../../coordinator/store/local.js';
import { FORMAT, FORMAT_VERSION } from '../../coordinator/store/local-schema.js';
import type { ArtifactMeta } from '../../shared/types.js';
import { tempDir } from '../helpers/services.js';

describe('LocalStore: artifact metas on disk, not in memory', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('trellis-artifacts-');
  });
  afterEach(() => tmp.remove());

  it('holds no meta per artifact: none after 2,000 attempt logs, and each reads back after a restart', async () => {
    const store = new LocalStore(tmp.dir);
    await store.start();
    const id = (i: number) => `log-exp-1-t${i}-a1`;
    for (let i = 0; i < 2000; i++) {
      await store.putArtifact(
        {
          id: id(i),
          experimentId: 'exp-1',
          trialId: `exp-1-t${i}`,
          kind: 'log',
          meta: { attemptId: `exp-1-t${i}-a1` },
        },
        Buffer.from(`{"tail":["line ${i}"]}`),
      );
    }
    assert.equal(store.memory().artifacts, 0, JSON.stringify(store.memory()));
    const before = await store.getArtifact(id(1234));
    await store.close();
    assert.ok(
      !readFileSync(join(tmp.dir, 'journal.jsonl'), 'utf8').includes('"t":"artifact"'),
      'no meta in the journal',
    );
    const again = new LocalStore(tmp.dir);
    await again.start();
    try {
      const after = await again.getArtifact(id(1234));
      assert.deepEqual(after?.meta, before?.meta);
      assert.equal(after?.data.toString(), '{"tail":["line 1234"]}');
      assert.equal(again.memory().artifacts, 0);
    } finally {
      await again.close();
    }
  });

  it("migrates an earlier journal's artifact records to meta files, readable through two restarts", async () => {
    const data = Buffer.from('checkpoint bytes');
    const meta: ArtifactMeta = {
      id: 'ckpt-old',
      experimentId: 'exp-old',
      trialId: 'exp-old-t0',
      kind: 'checkpoint',
      meta: { step: 9 },
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      createdAt: 1_700_000_000_000,
    };
    // What an earlier build left: the bytes under artifacts/, the meta only in the journal.
    mkdirSync(join(tmp.dir, 'artifacts'), { recursive: true });
    writeFileSync(join(tmp.dir, 'artifacts', 'a-ckpt-old'), data);
    writeFileSync(
      join(tmp.dir, 'journal.jsonl'),
      [
        JSON.stringify({ t: 'header', format: FORMAT, version: FORMAT_VERSION }),
        JSON.stringify({ t: 'artifact', d: meta }),
      ].join('\n') + '\n',
    );
    for (let restart = 0; restart < 2; restart++) {
      const store = new LocalStore(tmp.dir);
      await store.start();
      try {
        const got = await store.getArtifact('ckpt-old');
        assert.deepEqual(got?.meta, meta, `restart ${restart}`);
        assert.ok(got?.data.equals(data));
        assert.equal(store.memory().artifacts, 0);
        // Immutable as before: the same bytes are accepted, other bytes refused.
        assert.deepEqual(
          await store.putArtifact({ id: 'ckpt-old', experimentId: 'exp-old', kind: 'checkpoint' }, data),
          meta,
        );
        await assert.rejects(
          store.putArtifact({ id: 'ckpt-old', experimentId: 'exp-old', kind: 'checkpoint' }, Buffer.from('x')),
        );
      } finally {
        await store.close();
      }
      assert.ok(existsSync(join(tmp.dir, 'artifacts', 'meta', 'a-ckpt-old')));
      assert.ok(
        !readFileSync(join(tmp.dir, 'journal.jsonl'), 'utf8').includes('"t":"artifact"'),
        'the record went with the snapshot',
      );
    }
  });
});
