/**
 * Program output per attempt (`trellis logs`, docs/logs.md). Workers stream an attempt's output
 * (WorkerMessage.output): live lines while it runs, then once its final, complete bounded log
 * (head + tail). Here:
 *  - live: what arrived so far, per running attempt, kept bounded the same way (BoundedLog);
 *    followers (WatchAttemptLog) get new lines as they arrive;
 *  - stored: the final log is stored as the artifact `log-<attemptId>` (kind `log`, JSON of a
 *    LogSnapshot), so it outlives the coordinator and works with every store;
 *  - a lost attempt (its worker never sent the final log) keeps what arrived live, in memory
 *    only, served with source `live` (the oldest such logs go past MAX_UNFINISHED).
 * Reads redact the values of the spec's `env` maps (shared/redact.ts) wherever they appear.
 */
import type { Logger } from 'pino';
import { BoundedLog, clampLines, HEAD_BYTES, TAIL_BYTES, type LogSnapshot } from '../shared/bounded-log.js';
import { InvalidArgumentError, NotFoundError } from '../shared/errors.js';
import type { AttemptOutput__Output } from '../shared/generated/trellis/v1/AttemptOutput.js';
import { redactText, secretValues } from '../shared/redact.js';
import type { ExperimentDoc, TrialDoc } from '../shared/types.js';
import type { LeaseTable } from './dispatch/leases.js';
import type { Store } from './store/base.js';

/** Live logs of attempts that never sent their final log, kept at most (oldest dropped). */
const MAX_UNFINISHED = 1000;
/** Most bytes of lines taken from one live output message (workers send at most 16 KiB). */
const LIVE_LIMIT_BYTES = 64 * 1024;
/** How often a follower checks that its attempt still holds a lease (a lost worker sends no end). */
const LOST_CHECK_MS = 1000;

export type LogSource = 'worker' | 'live' | 'none';

export interface AttemptLogView extends LogSnapshot {
  trialId: string;
  attempt: number;
  attemptId: string;
  running: boolean;
  source: LogSource;
}

/** What a follower is told: new lines (and how many were not sent live), or the end. */
export type LogUpdate = { lines: string[]; skipped: number } | { ended: AttemptLogView };

interface LiveLog {
  workerId: string;
  /** From the lease when the output began (the lease may be gone when the final log comes). */
  experimentId: string;
  trialId: string;
  log: BoundedLog;
  /** The worker's final log, until it is stored. */
  final?: LogSnapshot;
  followers: Set<(update: LogUpdate) => void>;
}

export function logArtifactId(attemptId: string): string {
  return `log-${attemptId}`;
}

export class AttemptLogs {
  private readonly live = new Map<string, LiveLog>();

  constructor(
    private readonly store: Store,
    private readonly leases: LeaseTable,
    private readonly log: Logger,
  ) {}

  /** A worker's output message. Accepted from the worker that held the attempt's lease when its output began. */
  onOutput(workerId: string, message: AttemptOutput__Output): void {
    const attemptId = message.attempt_id;
    const entry =
      this.live.get(attemptId) ??
      (this.leases.holds(attemptId, workerId, Date.now()) ? this.liveEntry(attemptId) : undefined);
    if (!entry || entry.workerId !== workerId || entry.final) {
      if (!entry) this.log.debug({ attemptId, workerId }, 'output of an attempt this worker does not hold: dropped');
      return;
    }
    // A worker bounds what it sends; bounded again here all the same (a buggy or hostile worker).
    if (!message.final) {
      const lines = clampLines(message.lines, LIVE_LIMIT_BYTES);
      for (const line of lines) entry.log.push(line);
      const dropped = message.lines.length - lines.length;
      const update = { lines, skipped: Number(message.skipped_lines) + dropped };
      for (const follower of entry.followers) follower(update);
      return;
    }
    const final: LogSnapshot = {
      head: clampLines(message.head, HEAD_BYTES),
      tail: clampLines(message.tail, TAIL_BYTES, true),
      omittedLines: Number(message.omitted_lines),
      omittedBytes: Number(message.omitted_bytes),
      totalLines: Number(message.total_lines),
      totalBytes: Number(message.total_bytes),
    };
    entry.final = final;
    void this.persist(attemptId, final, entry.experimentId, entry.trialId);
  }

  /** The live log of a leased attempt (made, bound to the lease's worker, when there is none yet). */
  private liveEntry(attemptId: string): LiveLog | undefined {
    const existing = this.live.get(attemptId);
    if (existing) return existing;
    const lease = this.leases.get(attemptId);
    if (!lease) return undefined;
    const entry: LiveLog = {
      workerId: lease.workerId,
      experimentId: lease.experimentId,
      trialId: lease.trialId,
      log: new BoundedLog(),
      followers: new Set(),
    };
    this.live.set(attemptId, entry);
    this.trim();
    return entry;
  }

  private async persist(attemptId: string, log: LogSnapshot, experimentId: string, trialId: string): Promise<void> {
    try {
      await this.store.putArtifact(
        {
          id: logArtifactId(attemptId),
          experimentId,
          trialId,
          kind: 'log',
          meta: { attemptId },
        },
        Buffer.from(JSON.stringify(log)),
      );
    } catch (err) {
      // Kept in memory (served with source "worker") when the store refuses it.
      this.log.warn({ err, attemptId }, 'attempt log not stored');
      const entry = this.live.get(attemptId);
      if (entry) this.endFollowers(entry, attemptId);
      return;
    }
    const entry = this.live.get(attemptId);
    this.live.delete(attemptId);
    if (entry) this.endFollowers(entry, attemptId);
  }

  private endFollowers(entry: LiveLog, attemptId: string): void {
    if (entry.followers.size === 0) return;
    void this.viewOf(attemptId, entry, false).then((view) => {
      for (const follower of entry.followers) follower({ ended: view });
      entry.followers.clear();
    });
  }

  /** Drops the oldest live logs of attempts that never finished, past MAX_UNFINISHED. */
  private trim(): void {
    if (this.live.size <= MAX_UNFINISHED) return;
    for (const [attemptId, entry] of this.live) {
      if (this.live.size <= MAX_UNFINISHED) break;
      if (!entry.final && !this.leases.get(attemptId) && entry.followers.size === 0) this.live.delete(attemptId);
    }
  }

  private async viewOf(attemptId: string, entry: LiveLog | undefined, running: boolean): Promise<AttemptLogView> {
    const base = { trialId: '', attempt: 0, attemptId, running };
    if (entry?.final) return { ...base, ...entry.final, source: 'worker' };
    const stored = await this.store.getArtifact(logArtifactId(attemptId));
    if (stored) return { ...base, ...(JSON.parse(stored.data.toString('utf8')) as LogSnapshot), source: 'worker' };
    if (entry) return { ...base, ...entry.log.snapshot(), source: 'live' };
    return {
      ...base,
      head: [],
      tail: [],
      omittedLines: 0,
      omittedBytes: 0,
      totalLines: 0,
      totalBytes: 0,
      source: 'none',
    };
  }

  /** The trial's attempt `n` (0 = the latest): NotFound when it has none such. */
  private static attemptOf(trial: TrialDoc, n: number): { id: string; n: number; running: boolean } {
    if (!Number.isInteger(n) || n < 0) {
      throw new InvalidArgumentError([`attempt: ${n} is not an attempt number (1, 2, ...; 0 = the latest)`]);
    }
    const attempts = trial.attempts ?? [];
    const attempt = n === 0 ? attempts[attempts.length - 1] : attempts.find((a) => a.n === n);
    if (!attempt) {
      throw new NotFoundError(
        n === 0
          ? `trial ${trial.id} has no attempt yet (status ${trial.status})`
          : `trial ${trial.id} has no attempt ${n} (it has ${attempts.length})`,
      );
    }
    return { id: attempt.id, n: attempt.n, running: attempt.status === 'running' };
  }

  /** The attempt's log as stored (or live while it runs), redacted for the experiment. */
  async read(trial: TrialDoc, experiment: ExperimentDoc, n: number): Promise<AttemptLogView> {
    const attempt = AttemptLogs.attemptOf(trial, n);
    const view = await this.viewOf(attempt.id, this.live.get(attempt.id), attempt.running);
    return redactView({ ...view, trialId: trial.id, attempt: attempt.n }, secretValues(experiment.spec));
  }

  /**
   * The log so far, then its updates until the attempt's log is complete (or `signal` aborts).
   * Nothing to follow (the attempt ended): the first item is already the end.
   */
  async *follow(
    trial: TrialDoc,
    experiment: ExperimentDoc,
    n: number,
    signal: AbortSignal,
  ): AsyncGenerator<{ snapshot: AttemptLogView } | LogUpdate> {
    const attempt = AttemptLogs.attemptOf(trial, n);
    const secrets = secretValues(experiment.spec);
    // A running attempt that printed nothing yet is followed from its lease.
    const entry = this.liveEntry(attempt.id);
    const queue: LogUpdate[] = [];
    let wake: (() => void) | undefined;
    const follower = (update: LogUpdate): void => {
      queue.push(update);
      wake?.();
    };
    const following = entry !== undefined && !entry.final;
    if (following) entry.followers.add(follower);
    try {
      const first = await this.viewOf(attempt.id, entry, following || attempt.running);
      const snapshot = redactView({ ...first, trialId: trial.id, attempt: attempt.n }, secrets);
      if (!following) {
        yield { ended: snapshot };
        return;
      }
      yield { snapshot };
      const onAbort = (): void => wake?.();
      signal.addEventListener('abort', onAbort, { once: true });
      const lostCheck = setInterval(() => wake?.(), LOST_CHECK_MS);
      try {
        while (!signal.aborted) {
          const update = queue.shift();
          if (!update && !entry.final && !this.leases.get(attempt.id)) {
            // The attempt ended without its worker's final log (lost): what arrived live is all.
            const view = await this.viewOf(attempt.id, entry, false);
            yield { ended: redactView({ ...view, trialId: trial.id, attempt: attempt.n }, secrets) };
            return;
          }
          if (!update) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          if ('ended' in update) {
            yield { ended: redactView({ ...update.ended, trialId: trial.id, attempt: attempt.n }, secrets) };
            return;
          }
          yield { lines: update.lines.map((line) => redactText(line, secrets)), skipped: update.skipped };
        }
      } finally {
        clearInterval(lostCheck);
        signal.removeEventListener('abort', onAbort);
      }
    } finally {
      entry?.followers.delete(follower);
    }
  }
}

function redactView(view: AttemptLogView, secrets: string[]): AttemptLogView {
  if (secrets.length === 0) return view;
  return {
    ...view,
    head: view.head.map((line) => redactText(line, secrets)),
    tail: view.tail.map((line) => redactText(line, secrets)),
  };
}
