/**
 * Runs tasks of one key one after another, tasks of different keys side by side; a failed task
 * does not stop the next one of its key. Holds an entry only while a key has a task queued or
 * running. Used for the writes of one trial (TrialWriter) and the artifact puts of one id (each
 * checks for an existing artifact, then writes; side by side, two puts of one id would both write).
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    }
  }

  /** Whether `key` has a task queued or running. */
  has(key: string): boolean {
    return this.tails.has(key);
  }

  /** Keys with a task queued or running. */
  get size(): number {
    return this.tails.size;
  }
}
