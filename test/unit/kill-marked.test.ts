/**
 * Killing an attempt's marked processes (worker/runtimes/command/limits.ts killMarked): real
 * processes carrying attempt marks. Each process is killed and counted once (a process that is
 * dying still shows its environment for a moment; it was counted again, up to 20 times, and
 * every round re-read the window), and a process carrying another mark is left alone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { killMarked, MARK_VARIABLE, newMark } from '../../worker/runtimes/command/limits.js';
import { forkCount } from '../../worker/runtimes/command/pid-window.js';

/** `sleep` processes carrying `mark`, and the pid window taken before they started. */
async function marked(mark: string, count: number): Promise<{ children: ChildProcess[]; pid: number; forks: number }> {
  const forks = forkCount();
  assert.ok(forks !== undefined, 'this test needs /proc/stat');
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn('sleep', ['30'], { stdio: 'ignore', env: { ...process.env, [MARK_VARIABLE]: mark } });
    await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    children.push(child);
  }
  return { children, pid: children[0]!.pid!, forks };
}

const exitOf = (child: ChildProcess): Promise<NodeJS.Signals | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.signalCode)
    : new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

describe('killing the processes that carry an attempt mark', () => {
  for (const windowed of [true, false]) {
    it(`kills and counts each once, and leaves another mark's alone (${windowed ? 'pid window' : 'every process'})`, async () => {
      const mark = newMark();
      const mine = await marked(mark, 3);
      const bystander = await marked(newMark(), 1);
      try {
        const killed = killMarked(mark, windowed ? { pid: mine.pid, forks: mine.forks } : undefined);
        assert.equal(killed, 3);
        for (const child of mine.children) assert.equal(await exitOf(child), 'SIGKILL');
        const [other] = bystander.children;
        assert.equal(other!.exitCode, null);
        assert.equal(other!.signalCode, null, 'a process with another mark is left alone');
      } finally {
        for (const child of [...mine.children, ...bystander.children]) child.kill('SIGKILL');
      }
    });
  }
});
