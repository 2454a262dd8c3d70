/**
 * The drain part of `npm run test:deploy` (plain containers): `podman stop` on the worker
 * container that runs a trial (SIGTERM through tini, then SIGKILL after the stop timeout). The
 * worker must hand the attempt back as `preempted` and exit well before the SIGKILL; the trial
 * resumes at once on the other worker from the checkpoint the program wrote on SIGTERM, and
 * the preemption does not count against maxAttempts (1 here). Throws with what failed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { check, cli, trainerSweep, watch } from './scenario.mjs';
import { waitForLog } from './podman.mjs';

/**
 * @param {object} d  as runScenario's, plus
 * @param {{id: string, stop: () => Promise<number>}[]} d.drainWorkers  two running workers;
 *   `stop` runs `podman stop` on one and resolves with how long it took (ms)
 * @param {number} d.graceSeconds  the workers' --grace
 */
export async function drainScenario(d) {
  for (const w of d.drainWorkers) {
    await waitForLog(d.coordinatorContainer, new RegExp(`"workerId":"${w.id}".*worker connected`), 120_000, `${w.id}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'trellis-deploy-drain-'));
  try {
    const spec = join(dir, 'drain.json');
    writeFileSync(
      spec,
      trainerSweep(
        'deploy-drain',
        { algorithm: 'grid', space: { x: { choice: [0.4] }, steps: { choice: [10] }, delay: { choice: [400] } } },
        { trials: 1, concurrency: 1, maxAttempts: 1 },
      ),
    );
    const env = { NATS_URL: d.natsUrl };
    const id = JSON.parse(await cli(['submit', spec, '--coordinator', d.coordinator, '--json'], {})).experiment.id;
    let runningOn;
    let stopped;
    let stopping;
    const events = await watch(
      id,
      d.coordinator,
      env,
      (event) => {
        if (event.type === 'trial.state' && event.payload.status === 'running') runningOn ??= event.payload.workerId;
        if (!stopping && event.type === 'trial.metric' && event.payload.step >= 2 && runningOn) {
          const victim = d.drainWorkers.find((w) => w.id === runningOn);
          stopped = { workerId: runningOn, step: event.payload.step };
          stopping = victim.stop().then((ms) => (stopped.ms = ms));
        }
      },
      300_000,
    );
    await stopping;
    check(stopped, 'the drain trial never reported step 2');
    check(
      stopped.ms < d.graceSeconds * 1000,
      `podman stop returned after ${stopped.ms} ms: the worker exited within its --grace ${d.graceSeconds}s`,
    );
    const last = events[events.length - 1];
    check(last?.payload.status === 'succeeded', `drain experiment ended ${JSON.stringify(last?.payload)}`);

    const mongo = new MongoClient(d.mongoUri, { serverSelectionTimeoutMS: 10_000 });
    try {
      const [trial] = await mongo.db(d.db).collection('trials').find({ experimentId: id }).toArray();
      const [first, second] = trial.attempts;
      check(
        trial.status === 'succeeded' && trial.attempts.length === 2,
        `drained trial: ${trial.status}, ${trial.attempts.length} attempts (maxAttempts 1)`,
      );
      check(
        first.status === 'preempted' && first.failureKind === 'preempted' && first.workerId === stopped.workerId,
        `the stopped worker's attempt is preempted (${first.status}, ${first.failureKind}, ${first.workerId})`,
      );
      check(
        second.status === 'succeeded' && second.workerId !== stopped.workerId,
        'the trial finished on the other worker',
      );
      check(
        second.startedAt - first.endedAt < 10_000,
        `requeued at once (${second.startedAt - first.endedAt} ms after the preemption)`,
      );
      check(
        trial.metrics.resumed_from >= stopped.step,
        `resumed from the SIGTERM checkpoint (step ${trial.metrics.resumed_from}, stopped after ${stopped.step})`,
      );
      return { stopMs: stopped.ms, resumedFrom: trial.metrics.resumed_from };
    } finally {
      await mongo.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
