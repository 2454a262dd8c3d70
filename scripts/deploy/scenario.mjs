/**
 * The scenario `npm run test:deploy` runs against a deployed Trellis (plain containers or
 * `podman kube play`): a sweep submitted from the host with the CLI, one worker killed in the
 * middle of a trial, then the checks — every trial succeeded exactly once, the killed trial
 * resumed from its checkpoint on the other worker, the event stream replays from NATS
 * JetStream without gaps, the results are in MongoDB (FerretDB), and the coordinator's
 * /metrics agrees. Throws with what failed; returns facts for the summary line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { ROOT, waitForLog } from './podman.mjs';

const CLI = join(ROOT, 'dist/cli/main.js');
export const TRIALS = 4;
const STEPS = 8;

/** Runs the host CLI; resolves with stdout (rejects on a non-zero exit). */
export function cli(args, env, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`trellis ${args[0]} exited ${code}: ${err.trim().split('\n').slice(-5).join('\n')}`));
    });
  });
}

/**
 * Follows `trellis watch ID --from-start --json` (from NATS when NATS_URL is given) and calls
 * `onEvent` for each event; resolves with all events when the stream ends (the experiment ended).
 */
export function watch(id, coordinator, env, onEvent, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'watch', id, '--from-start', '--json', '--coordinator', coordinator], {
      env: { ...process.env, ...env },
    });
    const events = [];
    let buffer = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        const event = JSON.parse(line);
        events.push(event);
        onEvent?.(event);
      }
    });
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(events);
      else reject(new Error(`trellis watch ended with ${signal ?? code} after ${events.length} events: ${err.trim()}`));
    });
  });
}

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** A sweep spec (JSON text) of the fixture trainer the worker images carry at /fixtures. */
export function trainerSweep(name, search, budget) {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: ['node', '/fixtures/trainer.mjs'],
      objective: { metric: 'val_score', mode: 'max' },
      stopGraceSeconds: 5,
    },
    search,
    budget,
  });
}

/**
 * @param {object} d
 * @param {string} d.coordinator     host:port of the coordinator's gRPC, from the host
 * @param {string} d.coordinatorContainer  its container name (for log waits)
 * @param {string} d.natsUrl, d.mongoUri, d.db, d.metrics (host:port of /metrics)
 * @param {{id: string, kill: () => Promise<void>}[]} d.workers  two workers; the first is killed
 */
export async function runScenario(d) {
  for (const w of d.workers) {
    await waitForLog(
      d.coordinatorContainer,
      new RegExp(`"workerId":"${w.id}".*worker connected`),
      120_000,
      `${w.id} connecting`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'trellis-deploy-spec-'));
  try {
    const spec = join(dir, 'sweep.json');
    writeFileSync(
      spec,
      trainerSweep(
        'deploy-test',
        {
          algorithm: 'random',
          seed: 7,
          space: { x: { uniform: [0, 1] }, steps: { choice: [STEPS] }, delay: { choice: [400] } },
        },
        { trials: TRIALS, concurrency: 2, maxAttempts: 3 },
      ),
    );
    const env = { NATS_URL: d.natsUrl };
    const submitted = JSON.parse(await cli(['submit', spec, '--coordinator', d.coordinator, '--json'], {}));
    const id = submitted.experiment.id;

    // Kill the first worker once a trial it runs has reported (and so checkpointed) two steps.
    const victim = d.workers[0];
    const runningOn = new Map();
    let killed;
    let killing;
    const live = await watch(
      id,
      d.coordinator,
      env,
      (event) => {
        if (event.type === 'trial.state' && event.payload.status === 'running') {
          runningOn.set(event.trialNumber, event.payload.workerId);
        }
        if (
          !killing &&
          event.type === 'trial.metric' &&
          event.payload.step >= 2 &&
          runningOn.get(event.trialNumber) === victim.id
        ) {
          killed = { trialNumber: event.trialNumber, step: event.payload.step };
          killing = victim.kill();
        }
      },
      300_000,
    );
    await killing;
    check(killed, `no trial ran on ${victim.id} long enough to kill it mid-trial`);
    const last = live[live.length - 1];
    check(
      last?.type === 'experiment.state' && last.payload.status === 'succeeded',
      `experiment ended ${JSON.stringify(last?.payload)}`,
    );

    // Replay from JetStream after the end: seq 1..N, each once, in order.
    const replay = await watch(id, d.coordinator, env, undefined, 60_000);
    const seqs = replay.map((e) => e.seq);
    check(
      seqs.length > 0 && seqs.every((s, i) => s === i + 1),
      `replayed seqs are 1..N without gaps (got ${seqs.length} events, first gap at ${seqs.findIndex((s, i) => s !== i + 1)})`,
    );

    // The database: trials, attempts, events and metrics.
    const mongo = new MongoClient(d.mongoUri, { serverSelectionTimeoutMS: 10_000 });
    let facts;
    try {
      const db = mongo.db(d.db);
      const trials = await db.collection('trials').find({ experimentId: id }).toArray();
      check(trials.length === TRIALS, `${TRIALS} trials stored (got ${trials.length})`);
      for (const t of trials) {
        const ok = t.attempts.filter((a) => a.status === 'succeeded');
        check(
          t.status === 'succeeded' && ok.length === 1,
          `trial ${t.number} succeeded exactly once (${t.status}, ${ok.length} succeeded attempts)`,
        );
        check(typeof t.metrics?.val_score === 'number', `trial ${t.number} has its result in the database`);
      }
      const moved = trials.find((t) => t.number === killed.trialNumber);
      const lost = moved.attempts.filter((a) => a.status === 'lost');
      const finalAttempt = moved.attempts[moved.attempts.length - 1];
      check(
        lost.length === 1 && lost[0].workerId === victim.id,
        `the killed trial has one lost attempt on ${victim.id}`,
      );
      check(finalAttempt.workerId !== victim.id, 'the killed trial finished on the other worker');
      check(
        moved.metrics.resumed_from >= killed.step,
        `the killed trial resumed from its checkpoint (from step ${moved.metrics.resumed_from}, killed after ${killed.step})`,
      );
      const stored = await db.collection('events').countDocuments({ experimentId: id });
      check(stored === seqs.length, `events in the database (${stored}) = events replayed from NATS (${seqs.length})`);
      const metricDocs = await db.collection('metrics').countDocuments({ experimentId: id });
      check(metricDocs >= TRIALS * STEPS, `metric reports stored (${metricDocs} >= ${TRIALS * STEPS})`);
      facts = {
        experiment: id,
        events: seqs.length,
        metricDocs,
        killedTrial: killed.trialNumber,
        resumedFrom: moved.metrics.resumed_from,
      };
    } finally {
      await mongo.close();
    }

    // The coordinator's metrics saw the same.
    const text = await (await fetch(`http://${d.metrics}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const sample = (key) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${key} `))
          ?.split(' ')[1],
      );
    check(
      sample('trellis_attempts_total{outcome="succeeded"}') === TRIALS,
      `metrics: ${TRIALS} attempts succeeded (${sample('trellis_attempts_total{outcome="succeeded"}')})`,
    );
    check(sample('trellis_attempts_total{outcome="lost"}') === 1, 'metrics: one attempt lost');
    check(sample('trellis_trials{status="succeeded"}') === TRIALS, 'metrics: trials succeeded');
    return facts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
