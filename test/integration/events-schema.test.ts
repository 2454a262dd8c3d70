/**
 * Events and the store are what docs/events.md, schemas/event.schema.json and docs/schema.md
 * say: a sweep runs on MongoDB (FerretDB) with a worker whose id has dots, every event it emits
 * validates, every documented store field is present and typed as documented, and no stored
 * field is undocumented. An unschedulable trial shows its pending reason everywhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Document } from 'mongodb';
import { TrellisClient } from '../../client/index.js';
import { startEmbedded } from '../../cli/embedded.js';
import { MongoStore } from '../../coordinator/store/mongo.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { createLogger } from '../../shared/log.js';
import { EVENT_PAYLOADS, eventSchema } from '../../shared/event-schemas.js';
import { projectRoot } from '../../shared/paths.js';
import type { TrellisEvent } from '../../shared/events.js';
import { TRAINER } from '../helpers/cluster.js';
import { mongoUri, uniqueName, waitUntil } from '../helpers/services.js';
import { LAST_SEEN_EVERY_MS } from '../../coordinator/dispatch/worker-session.js';

/** `| \`a\`, \`b\` | type | … |` rows of the table under `### \`collection\``. */
function documentedFields(markdown: string, heading: string): Map<string, string> {
  const section = markdown.split(/^### /m).find((s) => s.startsWith(heading));
  assert.ok(section, `section ${heading}`);
  const fields = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.length < 4 || !cells[1]!.startsWith('`')) continue;
    for (const m of cells[1]!.matchAll(/`(\w+)`/g)) fields.set(m[1]!, cells[2]!);
  }
  return fields;
}

/** The JSON type a documented type column names (`string`, `` `Sweep` \| `Pipeline` ``, …). */
function typeOf(documented: string): string {
  if (/^`/.test(documented)) return 'string'; // an enumeration of string values
  return documented.split(/\s/)[0]!;
}

function jsonType(value: unknown): string {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

function checkCollection(docs: Document[], fields: Map<string, string>, notProduced: string[], name: string): void {
  assert.ok(docs.length > 0, `${name} has documents`);
  const seen = new Set<string>();
  for (const doc of docs) {
    for (const [key, value] of Object.entries(doc)) {
      assert.ok(fields.has(key), `${name}.${key} is stored but not documented in docs/schema.md`);
      seen.add(key);
      const want = typeOf(fields.get(key)!);
      if (want === '') continue; // untyped rows (`trialNumber`, … "when relevant")
      assert.equal(jsonType(value), want, `${name}.${key}: documented as ${want}`);
    }
  }
  for (const key of fields.keys()) {
    if (notProduced.includes(key)) continue;
    assert.ok(seen.has(key), `${name}.${key} is documented but no document has it`);
  }
}

describe('events and store schema, as documented', () => {
  it('a sweep on MongoDB: events validate, store fields match docs/schema.md, pending reasons show', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-schema-'));
    const db = uniqueName('trellis_schema');
    const uri = mongoUri();
    const embedded = await startEmbedded({
      dir,
      workers: 0,
      log: createLogger('test', 'warn'),
      store: new MongoStore({ uri, db }),
      bus: new LocalBus(),
      cpusPerWorker: 1,
      // Heartbeats every second, so lastSeenAt moves within the test.
      leaseMs: 3000,
    });
    const events: TrellisEvent[] = [];
    embedded.coordinator.events.onStored((event) => events.push(event));
    const client = new TrellisClient(embedded.address);
    const mongo = new MongoClient(uri);
    try {
      embedded.spawnWorker('node-1.lab.example');
      const spec = (extra: Record<string, unknown>): string =>
        JSON.stringify({
          apiVersion: 'trellis/v1',
          kind: 'Sweep',
          name: 'schema',
          trial: {
            runtime: 'command',
            command: [process.execPath, TRAINER],
            objective: { metric: 'val_score', mode: 'max' },
          },
          search: {
            algorithm: 'random',
            seed: 5,
            space: {
              x: { uniform: [0, 1] },
              'opt.lr': { choice: [0.1, 0.01] },
              steps: { choice: [2] },
              delay: { choice: [5] },
            },
          },
          budget: { trials: 3, concurrency: 2, maxAttempts: 2 },
          ...extra,
        });
      const { experiment } = await client.submit(spec({}));
      const final = await client.wait(experiment.id);
      assert.equal(final.status, 'succeeded');

      // Unschedulable: one GPU, and the only worker has none.
      const { experiment: gpu } = await client.submit(spec({ name: 'needs-gpu', resources: { gpus: 1 } }));
      // The reason is stored before its event is emitted: once the event is here, the API has it.
      const isReason = (e: TrellisEvent): boolean =>
        e.experimentId === gpu.id && e.type === 'trial.state' && typeof e.payload.pendingReason === 'string';
      await new Promise<void>((resolve, reject) => {
        if (events.some(isReason)) return resolve();
        const off = embedded.coordinator.events.onStored((e) => {
          if (!isReason(e)) return;
          off();
          resolve();
        });
        setTimeout(() => reject(new Error('no pending reason within 60 s')), 60_000).unref();
      });
      const waiting = (await client.trials(gpu.id)).filter((t) => t.pendingReason);
      assert.ok(waiting.length > 0, 'ListTrials shows the pending reason');
      assert.match(waiting[0]!.pendingReason!, /needs gpus 1 \(most on a worker: 0\)/);
      assert.ok(
        events.some(
          (e) =>
            e.experimentId === gpu.id && e.type === 'trial.state' && /gpus 1/.test(String(e.payload.pendingReason)),
        ),
      );
      const workers = await client.workers();
      assert.deepEqual(
        workers.map((w) => [w.id, w.status, w.runtimes.includes('command')]),
        [['node-1.lab.example', 'connected', true]],
      );
      await client.cancel(gpu.id);
      await client.wait(gpu.id);

      // Every event validates against the published schema's source, per type.
      const types = new Set<string>();
      for (const event of events) {
        const parsed = eventSchema.safeParse(event);
        assert.ok(parsed.success, `${JSON.stringify(event)}: ${parsed.success ? '' : parsed.error.message}`);
        types.add(event.type);
      }
      for (const type of ['experiment.state', 'trial.state', 'trial.metric', 'worker.state'])
        assert.ok(types.has(type), type);

      // docs/events.md lists each type with exactly its payload fields.
      const eventsDoc = readFileSync(join(projectRoot(), 'docs', 'events.md'), 'utf8');
      for (const [type, schema] of Object.entries(EVENT_PAYLOADS)) {
        const documented = [...documentedFields(eventsDoc, `\`${type}\``).keys()].sort();
        assert.deepEqual(documented, Object.keys(schema.shape).sort(), `docs/events.md ${type}`);
      }

      // The store, read with the plain driver, against docs/schema.md.
      const schemaDoc = readFileSync(join(projectRoot(), 'docs', 'schema.md'), 'utf8');
      const raw = mongo.db(db);
      checkCollection(
        await raw.collection('experiments').find().toArray(),
        documentedFields(schemaDoc, '`experiments`'),
        ['stages', 'parentId', 'error'],
        'experiments',
      );
      checkCollection(
        await raw.collection('trials').find().toArray(),
        documentedFields(schemaDoc, '`trials`'),
        // stepWarnings/stepWarning: only a program reporting bad steps produces them
        // (test/robustness/steps.test.ts, through a real worker).
        ['checkpoint', 'lineage', 'config', 'error', 'info', 'stepWarnings', 'stepWarning'],
        'trials',
      );
      checkCollection(
        await raw.collection('metrics').find().toArray(),
        documentedFields(schemaDoc, '`metrics`'),
        [],
        'metrics',
      );
      checkCollection(
        await raw.collection('events').find().toArray(),
        documentedFields(schemaDoc, '`events`'),
        ['workerId', 'stage'],
        'events',
      );
      checkCollection(
        await raw.collection('workers').find().toArray(),
        documentedFields(schemaDoc, '`workers`'),
        [],
        'workers',
      );

      // Heartbeats move workers.lastSeenAt (throttled), not only the hello.
      const connectedAt = events.find(
        (e) => e.type === 'worker.state' && e.workerId === 'node-1.lab.example' && e.payload.status === 'connected',
      )!.time;
      await waitUntil(
        async () => {
          const worker = await raw.collection('workers').findOne({ id: 'node-1.lab.example' });
          return worker && (worker.lastSeenAt as number) >= connectedAt + LAST_SEEN_EVERY_MS;
        },
        30_000,
        'a heartbeat to move workers.lastSeenAt',
      );

      // A dotted param name is queryable as written. FerretDB v1 has neither dotted keys nor
      // $elemMatch over documents, but it traverses arrays: every trial has the param `opt.lr`.
      const trials = await client.trials(experiment.id);
      const byName = await raw
        .collection('trials')
        .find({ experimentId: experiment.id, 'paramList.name': 'opt.lr' })
        .toArray();
      assert.equal(byName.length, trials.length);
      for (const doc of byName) {
        const entry = (doc.paramList as { name: string; value: unknown }[]).find((p) => p.name === 'opt.lr');
        const trial = trials.find((t) => t.id === String(doc._id));
        assert.equal(entry?.value, trial?.params['opt.lr']);
      }
      assert.equal(await raw.collection('trials').countDocuments({ 'paramList.name': 'opt%2Elr' }), 0);
    } finally {
      client.close();
      await embedded.close();
      await mongo
        .db(db)
        .dropDatabase()
        .catch(() => undefined);
      await mongo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
