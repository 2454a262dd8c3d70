/**
 * Group commit of one value that only grows (an experiment's `trialsCreated`): at most one
 * write in flight; callers that arrive meanwhile are answered by the next write, which carries
 * the highest value asked for so far. So N lanes creating trials at once cost two writes of
 * the experiment document, not N compare-and-sets racing for it (each lost round is another
 * read and claim on FerretDB), and the stored value never goes back.
 */
export class LatestValueWriter {
  private wanted = -Infinity;
  private stored = -Infinity;
  private running: Promise<void> | undefined;

  constructor(private readonly write: (value: number) => Promise<void>) {}

  /** Resolves once a value ≥ `value` is stored; rejects when the write that should store it fails. */
  async store(value: number): Promise<void> {
    this.wanted = Math.max(this.wanted, value);
    while (this.stored < value) {
      this.running ??= this.flush().finally(() => (this.running = undefined));
      await this.running;
    }
  }

  private async flush(): Promise<void> {
    const value = this.wanted;
    await this.write(value);
    this.stored = Math.max(this.stored, value);
  }
}
