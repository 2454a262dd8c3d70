/**
 * Deadlines for what tests await, so a regression that means "the awaited thing never happens"
 * fails with a message naming it instead of stalling the suite (the runner's per-test
 * --test-timeout in scripts/test.mjs is the backstop, and names only the test).
 */

/**
 * The deadline an experiment gets to finish: `client.wait(id, undefined, { timeoutMs: WAIT_MS })`.
 * TRELLIS_TEST_WAIT_MS lowers it (scripts/mutate.mjs does, so a mutation that hangs fails fast).
 */
export const WAIT_MS = Number(process.env.TRELLIS_TEST_WAIT_MS ?? 90_000);

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
