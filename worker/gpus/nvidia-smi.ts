/**
 * The real probe: `nvidia-smi` queries, run off the event loop with a deadline. Per-process use
 * is nvidia-smi's compute-apps list (pid, used_memory); in a container without the host's pid
 * namespace its pids are the host's and match nothing, so peaks read 0 (not measured).
 */
import { execFile } from 'node:child_process';
import type { GpuProbe, GpuReading } from './base.js';

const MIB = 2 ** 20;
const TIMEOUT_MS = 5000;

function query(args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', args, { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout) =>
      resolve(err ? undefined : stdout),
    );
  });
}

/** Lines of `index, name, memory.total, memory.used` (MiB) → readings; bad lines are skipped. */
export function parseGpuLines(text: string): GpuReading[] {
  const readings: GpuReading[] = [];
  for (const line of text.split('\n')) {
    const [id, name, total, used] = line.split(',').map((s) => s.trim());
    if (!id || !/^\d+$/.test(id) || total === undefined || !/^\d+$/.test(total)) continue;
    readings.push({
      id,
      name: name || 'gpu',
      totalBytes: Number(total) * MIB,
      usedBytes: used !== undefined && /^\d+$/.test(used) ? Number(used) * MIB : 0,
    });
  }
  return readings;
}

/** Lines of `pid, used_memory` (MiB) → pid → bytes (a pid on several GPUs summed). */
export function parseProcessLines(text: string): Map<number, number> {
  const usage = new Map<number, number>();
  for (const line of text.split('\n')) {
    const [pid, used] = line.split(',').map((s) => s.trim());
    if (!pid || !/^\d+$/.test(pid) || used === undefined || !/^\d+$/.test(used)) continue;
    usage.set(Number(pid), (usage.get(Number(pid)) ?? 0) + Number(used) * MIB);
  }
  return usage;
}

export const nvidiaSmiProbe: GpuProbe = {
  name: 'nvidia-smi',
  async inventory() {
    const out = await query(['--query-gpu=index,name,memory.total,memory.used', '--format=csv,noheader,nounits']);
    return out ? parseGpuLines(out) : [];
  },
  async processes() {
    const out = await query(['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits']);
    return out ? parseProcessLines(out) : new Map();
  },
};
