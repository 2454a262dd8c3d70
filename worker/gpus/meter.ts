/**
 * The worker's GPU meter: polls its probe at heartbeat cadence (each heartbeat sends the last
 * reading and starts the next poll; polls never overlap), and keeps each running attempt's peak
 * GPU memory: the largest sum, over one poll, of what the processes carrying the attempt's
 * TRELLIS_ATTEMPT_MARK use (command runtime; read from /proc/PID/environ of the processes the
 * probe lists). An attempt whose processes never show in a poll has peak 0 (not measured): a
 * program shorter than a heartbeat can go unseen, and tfjs attempts (in the worker) are not
 * measured.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { GpuMemory } from '../../shared/generated/trellis/v1/GpuMemory.js';
import { MARK_VARIABLE } from '../runtimes/command/limits.js';
import type { GpuProbe, GpuReading } from './base.js';

/** The attempt mark in a process's initial environment, or undefined (gone, not ours, none). */
export function markOf(pid: number): string | undefined {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    const start = environ.indexOf(`${MARK_VARIABLE}=`);
    if (start < 0) return undefined;
    const from = start + MARK_VARIABLE.length + 1;
    const end = environ.indexOf('\0', from);
    return environ.slice(from, end < 0 ? undefined : end);
  } catch {
    return undefined;
  }
}

export class GpuMeter {
  private last: GpuReading[] = [];
  private readonly tracked = new Map<string, { mark: string; peak: number }>();
  private polling: Promise<void> | undefined;

  constructor(
    private readonly probe: GpuProbe,
    /** GPU ids the worker advertises (readings of others are not sent). */
    private readonly advertised: readonly string[],
    private readonly log: Logger,
  ) {}

  /** Starts measuring the attempt whose processes carry `mark`. */
  track(attemptId: string, mark: string): void {
    this.tracked.set(attemptId, { mark, peak: 0 });
  }

  /** Stops measuring the attempt; its peak, bytes (0: never seen). */
  finish(attemptId: string): number {
    const peak = this.tracked.get(attemptId)?.peak ?? 0;
    this.tracked.delete(attemptId);
    return peak;
  }

  /** The last reading of the advertised GPUs (for a heartbeat); starts the next poll. */
  readings(): GpuMemory[] {
    void this.poll();
    return this.last
      .filter((g) => this.advertised.includes(g.id))
      .map((g) => ({ id: g.id, total_bytes: String(g.totalBytes), used_bytes: String(g.usedBytes) }));
  }

  /** One poll (joins the one in flight). */
  poll(): Promise<void> {
    this.polling ??= this.measure()
      .catch((err: unknown) => this.log.warn({ err }, 'GPU memory poll failed'))
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async measure(): Promise<void> {
    this.last = await this.probe.inventory();
    if (this.tracked.size === 0) return;
    const usage = await this.probe.processes();
    const byMark = new Map<string, number>();
    for (const [pid, bytes] of usage) {
      const mark = markOf(pid);
      if (mark) byMark.set(mark, (byMark.get(mark) ?? 0) + bytes);
    }
    for (const attempt of this.tracked.values()) {
      attempt.peak = Math.max(attempt.peak, byMark.get(attempt.mark) ?? 0);
    }
  }
}
