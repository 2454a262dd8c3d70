/**
 * Issue 15's checkpoint test at 64 MiB (the 1 GiB run: `npm run test:scale`,
 * test/scale/checkpoint-1gib.scale.ts): a command trial's checkpoint streams to the coordinator,
 * its worker is SIGKILLed, the retry on the other worker resumes from a byte-identical copy, and
 * no process's RSS grows by more than 150 MB over its idle RSS.
 */
import { describe, it } from 'node:test';
import { bigCheckpointScenario } from '../helpers/big-checkpoint.js';

describe('a big checkpoint survives its worker', () => {
  it('64 MiB: streamed, SIGKILL, resumed byte-identical on the other worker, RSS bounded', async () => {
    await bigCheckpointScenario(64);
  });
});
