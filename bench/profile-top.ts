/**
 * Summarises a V8 CPU profile (from `node --cpu-prof`): the functions and files with the most
 * self time, and the frames with the most inclusive time (each frame counted once per sample).
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/main.js dispatch --no-peers
 *   node dist/bench/profile-top.js /tmp/prof/CPU.*.cpuprofile [rows]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function label(node: ProfileNode, root: string): string {
  const url = node.callFrame.url.replace(root, '');
  return `${node.callFrame.functionName || '(anonymous)'} ${url}:${node.callFrame.lineNumber + 1}`;
}

function summarise(profile: CpuProfile, rows: number, root = `file://${process.cwd()}/`): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const timeOf = new Map<number, number>();
  profile.samples.forEach((id, i) => timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...timeOf.values()].reduce((a, b) => a + b, 0);
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, t: number): void => void m.set(k, (m.get(k) ?? 0) + t);
  for (const [id, t] of timeOf) {
    const node = byId.get(id)!;
    add(self, label(node, root), t);
    add(files, node.callFrame.url.replace(root, '') || `(${node.callFrame.functionName})`, t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!, root);
      if (!seen.has(k)) {
        seen.add(k);
        add(inclusive, k, t);
      }
    }
  }
  const table = (m: Map<string, number>): string =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, rows)
      .map(([k, t]) => `${(t / 1000).toFixed(0).padStart(8)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  return [
    `sampled ${(total / 1000).toFixed(0)} ms`,
    '--- self time by function',
    table(self),
    '--- self time by file',
    table(files),
    '--- inclusive time',
    table(inclusive),
  ].join('\n');
}

const [file, rows] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/profile-top.js FILE.cpuprofile [rows]\n');
  process.exit(2);
}
process.stdout.write(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(rows ?? 25)) + '\n');
