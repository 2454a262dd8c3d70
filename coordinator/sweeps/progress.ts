/**
 * Metric reports of running attempts: stored in batches, then shown to the scheduler.
 *
 * Batching: reports that arrive while their trial's previous write is in flight are gathered
 * into one batch, stored with one `appendMetrics` and one trial update (TrialWriter.
 * recordReports). With 8 reports in flight per attempt this cut the store calls per report
 * from about 2 to about 0.3 (bench/README.md, "ingest").
 *
 * Then, per report in order: the objective value joins the trial's learning curve (history.ts)
 * and the scheduler decides: continue, stop (the attempt ends pruned), or PBT exploit (the
 * trial continues from another trial's checkpoint with new params: the attempt is requeued).
 */
import type { Logger } from 'pino';
import type { Objective } from '../../shared/spec/schema.js';
import type { TrialDoc } from '../../shared/types.js';
import type { Scheduler } from '../schedulers/base.js';
import type { SearchHistory } from './history.js';
import type { AttemptOutcome } from './outcome.js';
import type { MetricReport, TrialWriter } from './trial-writer.js';

export interface ProgressContext {
  writer: TrialWriter;
  scheduler: Scheduler;
  history: SearchHistory;
  objective: Pick<Objective, 'metric' | 'mode'>;
  /** The trial of a running attempt; undefined once the attempt ended. */
  trialOf: (attemptId: string) => { trialId: string; number: number } | undefined;
  /** Tells the worker to stop the attempt and settles it with `outcome`. */
  stop: (attemptId: string, reason: string, outcome: AttemptOutcome) => void;
  log: Logger;
}

export class ProgressHandler {
  /** The batch of each attempt still waiting for its write. */
  private readonly open = new Map<string, MetricReport[]>();

  constructor(private readonly ctx: ProgressContext) {}

  report(attemptId: string, step: number, metrics: Record<string, number>): void {
    const running = this.ctx.trialOf(attemptId);
    if (!running) return;
    const queued = this.open.get(attemptId);
    if (queued) {
      queued.push({ step, metrics });
      return;
    }
    const batch = [{ step, metrics }];
    this.open.set(attemptId, batch);
    const { writer } = this.ctx;
    void writer
      .withTrial(running.trialId, async () => {
        this.open.delete(attemptId); // later reports open a new batch
        if (!this.ctx.trialOf(attemptId)) return; // ended while queued
        const trial = writer.get(running.number)!;
        if (!(await writer.recordReports(trial.number, trial.attempts.at(-1)!.n, batch))) return;
        for (const report of batch) await this.decide(trial, attemptId, report);
      })
      .catch((err: unknown) => this.ctx.log.error({ err, attemptId }, 'progress not recorded'));
  }

  private async decide(trial: TrialDoc, attemptId: string, report: MetricReport): Promise<void> {
    const { history, scheduler, writer, objective } = this.ctx;
    const { number, params } = trial;
    const sign = objective.mode === 'max' ? 1 : -1;
    const value = report.metrics[objective.metric];
    if (value === undefined || !this.ctx.trialOf(attemptId)) return;
    history.addCurvePoint(number, report.step, value);
    const decision = scheduler.onResult({ number, params }, report.step, value * sign);
    if (decision.action === 'stop') {
      this.ctx.stop(attemptId, 'pruned', { kind: 'pruned', reason: decision.reason });
    } else if (decision.action === 'exploit') {
      // Nothing happens while the donor has no checkpoint yet: the trial carries on.
      if (await writer.exploit(number, decision.checkpointOf, decision.params, report.step))
        this.ctx.stop(attemptId, 'exploit', { kind: 'requeued', reason: `pbt: ${decision.reason}` });
    }
  }
}
