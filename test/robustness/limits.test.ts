/**
 * Limits at the boundary, through the real gRPC API of a real `trellis coordinator` process:
 * every abusive request of issue 11 that is a limit is refused with INVALID_ARGUMENT naming the
 * field and the limit, nothing is stored, and a GetExperiment issued at the same time answers
 * within its deadline. Also: lazy trial creation (a 100,000-trial sweep stores as many trials as
 * a 10-trial one) and no poison pills (a stored experiment whose runner throws is failed and
 * quarantined; the coordinator serves, on this start and the next).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ChildProcess } from 'node:child_process';
import { TrellisClient } from '../../client/index.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { validateSpecText } from '../../coordinator/experiments/validate.js';
import type { ExperimentDoc } from '../../shared/types.js';
import type { SweepSpec } from '../../shared/spec/schema.js';
import { startCoordinatorProcess } from '../helpers/secure.js';
import { exited } from '../helpers/cluster.js';
import { within } from '../helpers/deadline.js';
import { trellis } from '../helpers/cli.js';

/** A GetExperiment during an abuse must answer within this (a loaded test machine, not a target). */
const GET_DEADLINE_MS = 5000;

const sweep = (name: string, patch: Record<string, unknown> = {}, trialPatch: Record<string, unknown> = {}): string =>
  JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: ['true'],
      objective: { metric: 'score', mode: 'max' },
      ...trialPatch,
    },
    search: { algorithm: 'random', space: { x: { uniform: [0, 1] } } },
    budget: { trials: 10, concurrency: 3 },
    ...patch,
  });

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await within(exited(child), 20_000, 'the coordinator to exit after SIGTERM');
}

/** Distinct trials announced (trial.state pending) until `count` have been, within a deadline. */
async function trialsAnnounced(client: TrellisClient, id: string, count: number): Promise<void> {
  const abort = new AbortController();
  const seen = new Set<number>();
  const timer = setTimeout(() => abort.abort(), 30_000);
  try {
    for await (const event of client.watch(id, { fromSeq: 1, signal: abort.signal })) {
      if (event.type === 'trial.state' && event.trialNumber !== undefined) seen.add(event.trialNumber);
      if (seen.size >= count) return;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  assert.fail(`only ${seen.size} of ${count} trials of ${id} were announced within 30 s`);
}

describe('limits at the boundary (real coordinator process)', () => {
  let dir: string;
  let child: ChildProcess;
  let client: TrellisClient;
  /** GetExperiment with a short deadline: DEADLINE_EXCEEDED fails the probe. */
  let quick: TrellisClient;
  let baseline: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-limits-'));
    const limitsFile = join(dir, 'limits.json');
    writeFileSync(limitsFile, JSON.stringify({ maxConcurrency: 8 }));
    const started = await startCoordinatorProcess(['--listen', '127.0.0.1:0', '--dir', dir, '--limits', limitsFile]);
    child = started.child;
    client = new TrellisClient(`127.0.0.1:${started.port}`);
    quick = new TrellisClient(`127.0.0.1:${started.port}`, { timeoutMs: GET_DEADLINE_MS });
  });

  after(async () => {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates trials lazily: 100,000 trials store no more than 10 do (concurrency 3, no workers)', async () => {
    const big = (await client.submit(sweep('lazy-big', { budget: { trials: 100_000, concurrency: 3 } }))).experiment;
    const small = (await client.submit(sweep('lazy-small', { budget: { trials: 10, concurrency: 3 } }))).experiment;
    baseline = [big.id, small.id];
    await trialsAnnounced(client, big.id, 3);
    await trialsAnnounced(client, small.id, 3);
    // Every lane now waits for a worker with its one trial: nothing more is created or stored.
    const [bigTrials, smallTrials] = await Promise.all([client.trials(big.id), client.trials(small.id)]);
    assert.equal(bigTrials.length, 3, 'the 100,000-trial sweep stores one trial per lane');
    assert.equal(smallTrials.length, 3);
    assert.equal((await client.get(big.id)).status, 'running');
  });

  const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
  const probes: { name: string; call: () => Promise<unknown>; expected: RegExp }[] = [
    {
      name: '20 KB spec nested 10,000 deep',
      call: () => client.submit(`{"apiVersion": "trellis/v1", "kind": "Sweep", "x": ${nested(10_000)}}`),
      expected: /^spec: nested more than 64 levels deep \(at line 1\); the limit is maxSpecDepth = 64$/,
    },
    {
      name: '200 KB spec nested 100,000 deep',
      call: () => client.submit(nested(100_000)),
      expected: /maxSpecDepth = 64/,
    },
    {
      name: 'YAML block sequence nested 10,000 deep on one line',
      call: () => client.submit(`apiVersion: trellis/v1\nx: ${'- '.repeat(10_000)}1\n`),
      expected: /maxSpecDepth = 64/,
    },
    {
      name: '2 MB spec',
      call: () => client.submit(sweep('big', { description: 'x'.repeat(2 * 1024 * 1024) })),
      expected: /^spec: \d+ bytes is more than the limit maxSpecBytes = 1048576$/,
    },
    {
      name: 'budget.trials: 1e9',
      call: () => client.submit(sweep('t', { budget: { trials: 1e9 } })),
      expected: /budget\.trials: 1000000000 is more than the limit maxTrials = 1000000/,
    },
    {
      name: 'budget.concurrency over the configured limit (--limits maxConcurrency 8)',
      call: () => client.submit(sweep('c', { budget: { concurrency: 9 } })),
      expected: /budget\.concurrency: 9 is more than the limit maxConcurrency = 8/,
    },
    {
      name: 'budget.maxAttempts: 1e9',
      call: () => client.submit(sweep('a', { budget: { maxAttempts: 1e9 } })),
      expected: /budget\.maxAttempts: 1000000000 is more than the limit maxAttempts = 100/,
    },
    {
      name: 'trial.epochs: 1e9',
      call: () => client.submit(sweep('e', {}, { epochs: 1e9 })),
      expected: /trial\.epochs: 1000000000 is more than the limit maxEpochs = 1000000/,
    },
    {
      name: 'trial.stopGraceSeconds: 1e12',
      call: () => client.submit(sweep('g', {}, { stopGraceSeconds: 1e12 })),
      expected: /trial\.stopGraceSeconds: 1000000000000 is more than the limit maxStopGraceSeconds = 3600/,
    },
    {
      name: '20,000-parameter search space',
      call: () =>
        client.submit(
          sweep('p', {
            search: {
              algorithm: 'random',
              space: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`p${i}`, { uniform: [0, 1] }])),
            },
          }),
        ),
      expected: /search\.space \(parameters\): 20000 is more than the limit maxParams = 200/,
    },
    {
      name: '10,000-stage pipeline',
      call: () =>
        client.submit(
          JSON.stringify({
            apiVersion: 'trellis/v1',
            kind: 'Pipeline',
            name: 'stages',
            stages: Array.from({ length: 10_000 }, (_, i) => ({
              name: `s${i}`,
              runtime: 'command',
              command: ['true'],
            })),
          }),
        ),
      expected: /stages \(count\): 10000 is more than the limit maxStages = 200/,
    },
    {
      name: 'TPE candidates: 1e9',
      call: () =>
        client.submit(
          sweep('tpe', { search: { algorithm: 'tpe', candidates: 1e9, space: { x: { uniform: [0, 1] } } } }),
        ),
      expected: /search\.candidates: 1000000000 is more than the limit maxCandidates = 10000/,
    },
    {
      name: 'grid of 10^12 combinations',
      call: () =>
        client.submit(
          sweep('grid', {
            search: { algorithm: 'grid', space: { a: { int: [0, 999_999] }, b: { int: [0, 999_999] } } },
          }),
        ),
      expected: /search \(grid combinations\): 1000000000000 is more than the limit maxGridSize = 1000000/,
    },
    {
      name: 'resources.cpus: 1e-300',
      call: () => client.submit(sweep('cpu', { resources: { cpus: 1e-300 } })),
      expected: /resources\.cpus: 1e-300 is less than the limit minCpus = 0\.01/,
    },
    {
      name: 'resources.memory: "99999999999Ti"',
      call: () => client.submit(sweep('mem', { resources: { memory: '99999999999Ti' } })),
      expected:
        /resources\.memory: "99999999999Ti" \(.*bytes\) is more than the limit maxMemoryBytes = 1125899906842624/,
    },
    {
      name: '1 MB request_id',
      call: () => client.submit(sweep('rid'), { requestId: 'r'.repeat(1024 * 1024) }),
      expected: /^request_id: 1048576 characters is more than the limit maxRequestIdLength = 200$/,
    },
    {
      name: 'request_id with a newline',
      call: () => client.submit(sweep('rid'), { requestId: 'a\nb' }),
      expected: /^request_id: must be printable ASCII without spaces/,
    },
    {
      name: 'description of 20,000 characters',
      call: () => client.submit(sweep('desc', { description: 'd'.repeat(20_000) })),
      expected: /description: 20000 characters is more than the limit maxDescriptionLength = 10000/,
    },
    {
      name: 'GetExperiment with a 100 KB id',
      call: () => client.get('i'.repeat(100_000)),
      expected: /^id: 100000 characters is more than the limit maxIdLength = 256$/,
    },
  ];

  for (const probe of probes) {
    it(`refuses ${probe.name} (INVALID_ARGUMENT naming the limit) and keeps serving`, async () => {
      assert.ok(baseline.length > 0, 'the lazy-creation test stores the experiments the probes read');
      const [outcome, during] = await Promise.all([
        probe.call().then(
          () => undefined,
          (err: unknown) => err,
        ),
        quick.get(baseline[0]!),
      ]);
      assert.ok(outcome instanceof InvalidArgumentError, `expected INVALID_ARGUMENT, got ${String(outcome)}`);
      assert.equal(outcome.code, grpc.status.INVALID_ARGUMENT);
      assert.match(outcome.message, probe.expected);
      assert.equal(during.id, baseline[0]);
      assert.equal((await quick.get(baseline[1]!)).id, baseline[1], 'GetExperiment after the probe');
    });
  }

  it('keeps answering GetExperiment while a large YAML spec is parsed (off the event loop)', async () => {
    // ~260 KB of block YAML: the yaml parser needs seconds for it; it runs on a worker thread.
    const params = Array.from({ length: 10_000 }, (_, i) => `    p${i}: {uniform: [0, 1]}`).join('\n');
    const text = `apiVersion: trellis/v1\nkind: Sweep\nname: big-yaml\ntrial:\n  runtime: command\n  command: ["true"]\nsearch:\n  space:\n${params}\n`;
    assert.ok(text.length > 200_000 && text.length < 1024 * 1024, `${text.length} bytes`);
    let settled = false;
    const submit = client.submit(text).then(
      () => undefined,
      (err: unknown) => err,
    );
    void submit.finally(() => (settled = true));
    let answeredWhileParsing = 0;
    while (!settled) {
      assert.equal((await quick.get(baseline[0]!)).id, baseline[0]);
      if (!settled) answeredWhileParsing++;
    }
    const outcome = await submit;
    assert.ok(outcome instanceof InvalidArgumentError, String(outcome));
    assert.match(outcome.message, /search\.space \(parameters\): 10000 is more than the limit maxParams = 200/);
    assert.ok(answeredWhileParsing > 0, 'no GetExperiment was answered while the spec was being parsed');
  });

  it('stored nothing for any refused request', async () => {
    const stored = await client.list();
    assert.deepEqual(stored.map((e) => e.id).sort(), [...baseline].sort());
  });
});

describe('--limits FILE', () => {
  it('stops the coordinator with exit 2 naming the file and the key when the file is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-limits-file-'));
    try {
      const file = join(dir, 'limits.json');
      writeFileSync(file, JSON.stringify({ maxTrails: 10 }));
      const run = await trellis(['coordinator', '--listen', '127.0.0.1:0', '--dir', dir, '--limits', file], dir, {
        timeoutMs: 60_000,
      });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`${file}: maxTrails: unknown limit; known: maxSpecBytes`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('no poison pills (real coordinator process, restarted)', () => {
  it('fails and quarantines a stored experiment whose runner throws; serves on this start and the next', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-poison-'));
    let child: ChildProcess | undefined;
    try {
      // Stored as an older coordinator (or a corrupted document) would have them: TPE with
      // candidates 1e9 (the TPE sampler refuses it when the runner is built) and 1e9 lanes
      // (which would exhaust memory at every start).
      const poison = (id: string, patch: (spec: SweepSpec) => void, expected: RegExp) => {
        const spec = validateSpecText(
          sweep(id, { search: { algorithm: 'tpe', space: { x: { uniform: [0, 1] } } } }),
        ) as SweepSpec;
        patch(spec);
        const now = Date.now();
        const doc: ExperimentDoc = {
          id,
          name: id,
          kind: 'Sweep',
          spec,
          status: 'running',
          requestId: id,
          createdAt: now,
          updatedAt: now,
          trialsCreated: 0,
        };
        return { doc, expected };
      };
      const pills = [
        poison(
          'poison-candidates',
          (spec) => ((spec.search as Record<string, unknown>).candidates = 1e9),
          /experiment runner failed: .*search\.candidates.*quarantined: not resumed/,
        ),
        poison(
          'poison-lanes',
          (spec) => (spec.budget.concurrency = 1e9),
          /experiment runner failed: Error: budget\.concurrency: 1000000000 is not a whole number from 1 to 100000 \(quarantined/,
        ),
      ];
      const store = new LocalStore(join(dir, 'store'));
      await store.start();
      for (const { doc } of pills) await store.createExperiment(doc);
      await store.close();

      for (const start of ['first start', 'restart']) {
        const started = await startCoordinatorProcess(['--listen', '127.0.0.1:0', '--dir', dir]);
        child = started.child;
        const client = new TrellisClient(`127.0.0.1:${started.port}`, { timeoutMs: GET_DEADLINE_MS });
        for (const { doc, expected } of pills) {
          const final = await client.wait(doc.id, undefined, { timeoutMs: 30_000 });
          assert.equal(final.status, 'failed', `${start}: ${doc.id}`);
          assert.match(final.error ?? '', expected, `${start}: ${doc.id}`);
        }
        // It serves: a new experiment is accepted and listed beside the quarantined one.
        const fresh = (await client.submit(sweep(`after-${start.replace(' ', '-')}`))).experiment;
        assert.ok((await client.list()).some((e) => e.id === fresh.id));
        await client.cancel(fresh.id);
        // Quarantined once, on the first start; the restart does not even try it again.
        const quarantined = /experiment quarantined/.test(started.log());
        assert.equal(quarantined, start === 'first start', `${start}: quarantine logged`);
        await stop(child);
      }
    } finally {
      if (child) await stop(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
