/**
 * Heap held per stored artifact by LocalStore (a command sweep stores one log per attempt):
 * N small attempt-log artifacts put into a fresh LocalStore, heap measured after forced
 * collections before and after.
 *
 *   node dist/bench/artifact-memory.js [N=20000]
 */
import { join } from 'node:path';
import { LocalStore } from '../coordinator/store/local.js';
import { tempDir } from './harness.js';
import { collectGarbage } from './common.js';

const total = Number(process.argv[2] ?? '20000');
if (!Number.isInteger(total) || total < 1) {
  process.stderr.write('usage: node dist/bench/artifact-memory.js [N]\n');
  process.exit(2);
}

const heapUsed = (): number => {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

const temp = tempDir('artifact-memory');
const store = new LocalStore(join(temp.dir, 'store'));
await store.start();
try {
  const before = heapUsed();
  for (let i = 0; i < total; i++) {
    const attemptId = `exp-0123456789abcdef-t${String(i).padStart(6, '0')}-a1`;
    await store.putArtifact(
      {
        id: `log-${attemptId}`,
        experimentId: 'exp-0123456789abcdef',
        trialId: `exp-0123456789abcdef-t${i}`,
        kind: 'log',
        meta: { attemptId },
      },
      Buffer.from('{"head":[],"tail":["done"],"omittedLines":0,"omittedBytes":0,"totalLines":1,"totalBytes":4}'),
    );
  }
  const after = heapUsed();
  process.stdout.write(
    JSON.stringify({
      artifacts: total,
      heap_bytes_per_artifact: Math.round((after - before) / total),
      held: store.memory(),
    }) + '\n',
  );
} finally {
  await store.close();
  temp.remove();
}
