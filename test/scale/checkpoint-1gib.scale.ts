/**
 * Issue 15's checkpoint test at full size (`npm run test:scale`; minutes, ~7 GiB of free disk in
 * the temp dir): a command trial writes a 1 GiB checkpoint, its worker is SIGKILLed, the retry on
 * the other worker resumes from a byte-identical copy, and the coordinator's and workers' RSS stay
 * within 150 MB of their idle RSS during the transfer. Prints what it measured as one JSON line.
 */
import { describe, it } from 'node:test';
import { bigCheckpointScenario } from '../helpers/big-checkpoint.js';

describe('a 1 GiB checkpoint survives its worker', () => {
  it('1 GiB: streamed, SIGKILL, resumed byte-identical on the other worker, RSS within 150 MB of idle', async () => {
    const result = await bigCheckpointScenario(1024);
    process.stdout.write(`checkpoint-1gib: ${JSON.stringify(result)}\n`);
  });
});
