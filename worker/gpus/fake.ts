/**
 * TEST-ONLY probe (TRELLIS_FAKE_GPUS): GPUs that do not exist, for tests and benches on machines
 * without any. Its GPUs are the ones the variable lists (ids 0, 1, ...). A test program declares
 * the GPU memory it "uses" by writing a file named by its pid into TRELLIS_FAKE_GPU_PROCS,
 * holding "GPU_ID BYTES"; the probe counts files whose pid is alive, as nvidia-smi counts the
 * processes holding memory. A GPU's used memory is its listed `used` plus those files. Nothing
 * is allocated anywhere: it tests Trellis' bookkeeping, not a GPU. Each `processes()` call
 * appends a line to `seen-PID` beside each live declaration, so a test program can wait until
 * the meter has measured it (two lines: a whole poll finished) instead of guessing a duration.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryBytes } from '../../shared/limits.js';
import type { GpuProbe, GpuReading } from './base.js';

export interface FakeGpu {
  total: string;
  used?: string | undefined;
  name?: string | undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Live declarations in `dir`: pid → { gpu, bytes }. */
function declarations(dir: string | undefined): Map<number, { gpu: string; bytes: number }> {
  const found = new Map<number, { gpu: string; bytes: number }>();
  if (!dir) return found;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || !alive(Number(name))) continue;
    try {
      const [gpu, bytes] = readFileSync(join(dir, name), 'utf8').trim().split(/\s+/);
      const n = Number(bytes);
      if (gpu !== undefined && Number.isSafeInteger(n) && n >= 0) found.set(Number(name), { gpu, bytes: n });
    } catch {
      // Being written or gone: the next poll sees it.
    }
  }
  return found;
}

export function fakeProbe(gpus: readonly FakeGpu[], procsDir: string | undefined): GpuProbe {
  return {
    name: 'fake',
    inventory(): Promise<GpuReading[]> {
      const declared = [...declarations(procsDir).values()];
      return Promise.resolve(
        gpus.map((g, i) => ({
          id: String(i),
          name: g.name ?? 'fake-gpu',
          totalBytes: memoryBytes(g.total),
          usedBytes:
            memoryBytes(g.used) + declared.filter((d) => d.gpu === String(i)).reduce((sum, d) => sum + d.bytes, 0),
        })),
      );
    },
    processes(): Promise<Map<number, number>> {
      const live = declarations(procsDir);
      for (const pid of live.keys()) {
        try {
          appendFileSync(join(procsDir!, `seen-${pid}`), '.\n');
        } catch {
          // The directory went away with its test: nothing waits on it any more.
        }
      }
      return Promise.resolve(new Map([...live].map(([pid, d]) => [pid, d.bytes])));
    },
  };
}
