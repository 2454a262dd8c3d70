/**
 * The pid window (worker/runtimes/command/pid-window.ts): which pids a program's descendants can
 * have, so the search for processes carrying an attempt's mark reads only those.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forkCount, pidRanges, pidsSince, readProc } from '../../worker/runtimes/command/pid-window.js';

describe('pid window', () => {
  const pidMax = 32768;

  it('is the range from the program to the last pid handed out, cyclically', () => {
    assert.deepEqual(pidRanges({ pid: 1000, forks: 50 }, { forks: 60, lastPid: 1200, pidMax }), [[1000, 1200]]);
    assert.deepEqual(pidRanges({ pid: 32000, forks: 50 }, { forks: 60, lastPid: 700, pidMax }), [
      [32000, 32767],
      [1, 700],
    ]);
  });

  it('is every pid once the kernel may have gone round (half of pid_max forks or more), or on odd input', () => {
    assert.equal(pidRanges({ pid: 1000, forks: 0 }, { forks: pidMax / 2, lastPid: 1200, pidMax }), undefined);
    assert.notEqual(pidRanges({ pid: 1000, forks: 0 }, { forks: pidMax / 2 - 1, lastPid: 1200, pidMax }), undefined);
    assert.equal(pidRanges({ pid: 1000, forks: 70 }, { forks: 60, lastPid: 1200, pidMax }), undefined, 'count fell');
    assert.equal(pidRanges({ pid: 40000, forks: 0 }, { forks: 1, lastPid: 1200, pidMax }), undefined);
    assert.equal(pidRanges({ pid: 1000, forks: 0 }, { forks: 1, lastPid: 0, pidMax }), undefined);
  });

  it('holds a real descendant (Linux): a grandchild started after the count is in the window', async (t) => {
    const forks = forkCount();
    if (forks === undefined) {
      t.diagnostic('no /proc/stat here: the window is never used (every process is read)');
      assert.equal(pidsSince({ pid: process.pid, forks: 0 }), undefined);
      return;
    }
    // sh prints its own pid, then starts a child that prints its pid; both after `forks`.
    const child = spawn('sh', ['-c', "echo $$; sh -c 'echo $$'"], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await once(child, 'close');
    const [program, grandchild] = out.trim().split('\n').map(Number);
    assert.ok(program && grandchild, `two pids printed: ${out}`);
    const window = pidsSince({ pid: program, forks });
    assert.ok(window, 'a window (no wrap of the pid space in this short time)');
    assert.ok(window.includes(program) && window.includes(grandchild), 'both pids are in the window');
    assert.ok(!window.includes(1), 'pid 1 (older than the program) is not');
  });

  it('reads /proc files whole into its reused buffer, as readFileSync does', () => {
    assert.deepEqual(
      Buffer.from(readProc('/proc/self/stat')).subarray(0, 20),
      readFileSync('/proc/self/stat').subarray(0, 20),
    );
    assert.equal(readProc('/proc/self/environ').toString('latin1'), readFileSync('/proc/self/environ', 'latin1'));
    // Bigger than the buffer it starts with (16 KiB), then a small one: each read is whole.
    const dir = mkdtempSync(join(tmpdir(), 'trellis-readproc-'));
    try {
      const big = Buffer.from('x'.repeat(100_000) + 'end');
      writeFileSync(join(dir, 'big'), big);
      assert.ok(readProc(join(dir, 'big')).equals(big));
      writeFileSync(join(dir, 'small'), 'abc');
      assert.equal(readProc(join(dir, 'small')).toString(), 'abc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => readProc('/proc/999999999/environ'), { code: 'ENOENT' });
  });
});
