/**
 * One attempt's program output on its way to the coordinator (`trellis logs`, docs/logs.md).
 * Every line goes into a BoundedLog (head + tail, long lines cut); new lines are sent live, at
 * most LIVE_BYTES per FLUSH_MS (the rest only counted as skipped, so a flood of output costs the
 * stream 32 KiB/s); `finish` sends the whole kept log once, before the attempt's outcome.
 */
import { BoundedLog, cutLine } from '../shared/bounded-log.js';
import type { WorkerMessage } from '../shared/generated/trellis/v1/WorkerMessage.js';

export const FLUSH_MS = 500;
export const LIVE_BYTES = 16 * 1024;

export class AttemptOutputStream {
  private readonly log = new BoundedLog();
  private pending: string[] = [];
  private pendingBytes = 0;
  private skipped = 0;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly attemptId: string,
    private readonly send: (message: WorkerMessage) => void,
  ) {}

  /** A line of output; `cutBytes` of it were already dropped by the line splitter. */
  readonly line = (line: string, cutBytes = 0): void => {
    if (this.finished) return;
    const kept = cutLine(line, cutBytes);
    this.log.push(kept, Buffer.byteLength(line) + cutBytes + 1);
    const size = Buffer.byteLength(kept) + 1;
    if (this.pendingBytes + size <= LIVE_BYTES) {
      this.pending.push(kept);
      this.pendingBytes += size;
    } else this.skipped += 1;
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  };

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 && this.skipped === 0) return;
    this.send({ output: { attempt_id: this.attemptId, lines: this.pending, skipped_lines: this.skipped } });
    this.pending = [];
    this.pendingBytes = 0;
    this.skipped = 0;
  }

  /** Sends what is pending, then the final log (nothing for a program that printed nothing). Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.flush();
    this.finished = true;
    const log = this.log.snapshot();
    if (log.totalLines === 0) return;
    this.send({
      output: {
        attempt_id: this.attemptId,
        final: true,
        head: log.head,
        tail: log.tail,
        omitted_lines: log.omittedLines,
        omitted_bytes: log.omittedBytes,
        total_lines: log.totalLines,
        total_bytes: log.totalBytes,
      },
    });
  }
}
