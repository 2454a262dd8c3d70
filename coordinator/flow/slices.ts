/**
 * Worker messages handled in slices of the event loop, not in the turn that read them.
 *
 * Why: Node's HTTP/2 sends what a turn wrote only at the end of that turn (its check phase).
 * At a thousand workers one turn reads hundreds of worker streams at once and, handling each
 * message as it was read, ran for tens of milliseconds: an assignment made early in such a turn
 * waited for all the rest of it before it went out (bench/README.md, "scale", 2026-12-01
 * (later)). Here the reads only queue their messages; a slice handles them in arrival order for
 * at most SLICE_MS and then ends the turn, so what it sent goes out before the next slice starts.
 *
 * Bounded: a stream with MAX_QUEUED_PER_STREAM messages waiting is paused (HTTP/2 flow control
 * then slows its sender, as the report-rate pacing does) until its messages have been handled.
 * A stream's close is queued behind its messages, so its session sees them all before it closes.
 */

/** The longest a slice runs before it lets the event loop turn (and replies go out). */
export const SLICE_MS = 1;
/** Messages of one stream waiting for a slice before the stream is paused (resumed at half). */
export const MAX_QUEUED_PER_STREAM = 16;

/** One queue of work for the whole server, run in slices (setImmediate between them). */
export class Slices {
  private queue: ((() => void) | undefined)[] = [];
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly sliceMs = SLICE_MS,
    /** Milliseconds, monotonic (tests pass their own clock). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs `fn` in a coming slice, after everything queued before it. */
  run(fn: () => void): void {
    this.queue.push(fn);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.slice);
    }
  }

  /** Work waiting (for tests and stats). */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  private readonly slice = (): void => {
    const start = this.now();
    try {
      while (this.head < this.queue.length) {
        const fn = this.queue[this.head]!;
        this.queue[this.head++] = undefined;
        fn();
        if (this.now() - start >= this.sliceMs) break;
      }
    } finally {
      // A handler that throws ends the slice (the error goes on, as it did when handlers ran
      // in the read); what is queued behind it still runs.
      if (this.head >= this.queue.length) {
        this.queue = [];
        this.head = 0;
        this.scheduled = false;
      } else {
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        setImmediate(this.slice);
      }
    }
  };
}

/** A stream paused while any reason holds it (report-rate pacing, a full slice queue). */
export class PauseHolds {
  private readonly holds = new Set<string>();

  constructor(private readonly stream: { pause(): unknown; resume(): unknown }) {}

  hold(reason: string): void {
    if (this.holds.size === 0) this.stream.pause();
    this.holds.add(reason);
  }

  release(reason: string): void {
    if (this.holds.delete(reason) && this.holds.size === 0) this.stream.resume();
  }
}

/**
 * One stream's reader into `slices`: `data` queues a message for `handle`, `close` queues
 * `onClose` behind the messages. At MAX_QUEUED_PER_STREAM waiting, the stream is held paused
 * until half of them are handled.
 */
export function slicedReader<M>(
  slices: Slices,
  pauses: PauseHolds,
  handle: (message: M) => void,
  onClose: () => void,
  maxQueued = MAX_QUEUED_PER_STREAM,
): { data: (message: M) => void; close: () => void } {
  let queued = 0;
  let closed = false;
  return {
    data: (message) => {
      queued++;
      if (queued >= maxQueued) pauses.hold('slices');
      slices.run(() => {
        queued--;
        if (queued <= maxQueued / 2) pauses.release('slices');
        handle(message);
      });
    },
    close: () => {
      if (closed) return;
      closed = true;
      slices.run(onClose);
    },
  };
}
