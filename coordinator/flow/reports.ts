/**
 * Report-rate pacing of a worker stream: every message is handled, in order, but each stream
 * reads at most `perSecond` of them (bursts of twice that). Past it the stream is paused until
 * the bucket refills, so HTTP/2 flow control slows the sender instead of the coordinator
 * queueing its messages; nothing is dropped. Each pause is counted (`reportsThrottled`) and
 * warned about (at most every WARN_EVERY_MS per stream, with the count since the last warning).
 */
import type { Logger } from 'pino';
import type { FlowStats } from './callers.js';
import { TokenBucket } from './token-bucket.js';

const WARN_EVERY_MS = 10_000;

export function pacedReader<M>(
  stream: { pause(): unknown; resume(): unknown; getPeer(): string },
  perSecond: number,
  stats: FlowStats,
  log: Logger,
  handle: (message: M) => void,
): (message: M) => void {
  const bucket = new TokenBucket(perSecond, 2 * perSecond);
  let paused = false;
  let throttled = 0;
  let warnedAt = 0;
  return (message) => {
    handle(message);
    if (paused || bucket.take()) return;
    paused = true;
    throttled++;
    stats.reportsThrottled++;
    const now = Date.now();
    if (now - warnedAt >= WARN_EVERY_MS) {
      warnedAt = now;
      log.warn(
        { peer: stream.getPeer(), perSecond, throttled },
        'worker stream over its report rate (TRELLIS_REPORTS_PER_SECOND): reading it more slowly',
      );
      throttled = 0;
    }
    stream.pause();
    setTimeout(() => {
      paused = false;
      stream.resume();
    }, bucket.waitMs()).unref();
  };
}
