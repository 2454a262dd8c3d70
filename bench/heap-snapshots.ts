/**
 * Heap snapshots of one in-process no-op sweep at chosen trial counts (issue 15 §4: what grows
 * per trial outside LocalStore). The same workload as `million.ts` (a Coordinator on a LocalStore
 * without fsync, a LocalBus, the in-process instant worker with 16 slots, random search):
 *
 *   node dist/bench/heap-snapshots.js DIR TOTAL AT1 [AT2 ...]
 *
 * After AT1, AT2, ... trials have succeeded it forces a full collection and writes
 * DIR/at-N.heapsnapshot; `node scripts/heap-diff.mjs A B` then says what grew between two.
 */
import { connectInstantWorker, startLocalCoordinator, sweepSpec, tempDir } from './harness.js';
import { collectGarbage } from './common.js';
import { createStore } from '../coordinator/store/registry.js';
import { env } from '../shared/env.js';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const [dir, totalArg, ...atArgs] = process.argv.slice(2);
const total = Number(totalArg);
const at = new Set(atArgs.map(Number));
if (!dir || !Number.isInteger(total) || total < 1 || at.size === 0 || [...at].some((n) => !(n > 0 && n <= total))) {
  process.stderr.write('usage: node dist/bench/heap-snapshots.js DIR TOTAL AT1 [AT2 ...] (0 < AT <= TOTAL)\n');
  process.exit(2);
}

const temp = tempDir('heap-snapshots');
const store = createStore({ ...env(), dir: join(temp.dir, 'store'), TRELLIS_DURABLE: false });
const local = await startLocalCoordinator({ store });
connectInstantWorker(local.coordinator, 16);
let ended = 0;
const off = local.coordinator.events.onStored((event) => {
  if (event.type !== 'trial.state' || event.payload.status !== 'succeeded') return;
  ended++;
  if (!at.has(ended)) return;
  collectGarbage();
  const file = writeHeapSnapshot(join(dir, `at-${ended}.heapsnapshot`));
  process.stderr.write(
    `${ended} trials: live heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MB, ${file}\n`,
  );
});
try {
  const { experiment } = await local.coordinator.submit(sweepSpec({ name: 'heap', trials: total, concurrency: 16 }));
  await local.coordinator.idle();
  const done = await local.coordinator.get(experiment.id);
  if (done.status !== 'succeeded') throw new Error(`sweep ended ${done.status}`);
} finally {
  off();
  await local.close();
  temp.remove();
}
process.exit(0);
