/**
 * The reaper kills the process groups registered by a process that dies outright, and only
 * those still registered, and the processes carrying a registered attempt mark.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processEnded, waitUntil } from '../helpers/services.js';

const HOST = fileURLToPath(new URL('../../../test/fixtures/programs/reaper-host.mjs', import.meta.url));
const REAPER = new URL('../../worker/runtimes/command/reaper.js', import.meta.url).href;

describe('reaper', () => {
  it('SIGKILLs the registered groups and marked processes of a host killed outright, not the released ones', async () => {
    const host = spawn(process.execPath, [HOST, REAPER], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(createInterface({ input: host.stdout! }), 'line')) as [string];
    const pids = JSON.parse(line) as { covered: number; released: number; escaped: number; reaper: number };
    try {
      assert.ok(Number.isInteger(pids.reaper), 'the reaper started');
      assert.ok(!processEnded(pids.covered) && !processEnded(pids.released) && !processEnded(pids.reaper));
      host.kill('SIGKILL');
      await once(host, 'exit');
      await waitUntil(() => processEnded(pids.covered), 10_000, 'the covered program to be killed');
      await waitUntil(
        () => processEnded(pids.escaped),
        10_000,
        'the escaped (setsid) program to be killed by its mark',
      );
      await waitUntil(() => processEnded(pids.reaper), 10_000, 'the reaper to exit');
      assert.ok(!processEnded(pids.released), 'a released group is left alone');
    } finally {
      for (const pid of [pids.covered, pids.released, pids.escaped, pids.reaper])
        if (!processEnded(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
