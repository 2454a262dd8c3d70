/**
 * Running the attempts a worker is assigned: each on its runtime, concurrently, with an abort
 * controller the coordinator's stop (or the worker's shutdown) fires. Reports, checkpoints and
 * the outcome (result, failure, stopped) go out through the connection (connection.ts), which
 * delivers them across reconnects.
 *
 * Prefetch (Assignment.after_attempt_id, worker/queued.ts): an assignment that follows a running
 * attempt is held, and prepared at once by a runtime that can (Runtime.preparesAhead: its temp
 * directory made, its checkpoint fetched); it starts the moment that attempt releases its slot
 * (its program exited) or its outcome is sent, whichever comes first. A drain hands held ones
 * back, a stop drops them (what was prepared is removed), and neither ever starts them.
 */
import type { GpuMeter } from './gpus/meter.js';
import { stepFromWire, stepOnWire, stepProblem } from '../shared/steps.js';
import type { Logger } from 'pino';
import type { Assignment__Output } from '../shared/generated/trellis/v1/Assignment.js';
import type { TrialConfig } from '../shared/spec/schema.js';
import type { Params } from '../shared/spec/space.js';
import { codeVersion } from '../shared/version.js';
import { mapArtifactRefsAsync } from '../shared/artifact-refs.js';
import type { CoordinatorLink } from './connection.js';
import { classifyError, type Failure } from '../shared/failure-kinds.js';
import {
  ClassifiedRunError,
  DivergedError,
  PermanentRunError,
  PREEMPTED,
  StoppedError,
  type AttemptContext,
  type Checkpoint,
  type FileCheckpoint,
  type WorkerLimits,
} from './runtimes/base.js';
import { getRuntime } from './runtimes/registry.js';
import { AttemptOutputStream } from './output-stream.js';
import { cutLine } from '../shared/bounded-log.js';
import { env } from '../shared/env.js';
import { dispatchTrace } from '../shared/dispatch-trace.js';
import { QueuedAssignments } from './queued.js';
import { HeldSlot } from './held-slot.js';

/** Outputs whose JSON is longer than this travel as artifacts (see storeLargeOutputs). */
const OUTPUT_INLINE_LIMIT = 64 * 1024;
/** After handing attempts back, how long to wait for their runtimes to stop. */
const HAND_BACK_WAIT_MS = 5000;

interface RunningAttempt {
  assignment: Assignment__Output;
  controller: AbortController;
  /** Fired by a drain: checkpoint and stop (AttemptContext.preempt). */
  preempt: AbortController;
  done: Promise<void>;
  lastStep: number;
  /** Its slot is free (released by its runtime, or its outcome went out): one held behind it starts now. */
  ended?: boolean;
  /** When it started (for a held attempt: when its slot became free, not when it was prepared). */
  startedAt: number;
  /** A held attempt prepared ahead of its turn: opens when its slot is free. */
  slot?: HeldSlot;
  /** Opens when its runtime began its work (its program was spawned) or it ended. */
  begun: Deferred;
  /** The coordinator was already told how it ended (a held attempt dropped or handed back): run() tells nothing. */
  told?: boolean;
}

/** A promise opened from outside (an attempt's start of work). */
class Deferred {
  readonly opened: Promise<void>;
  open!: () => void;

  constructor() {
    this.opened = new Promise<void>((resolve) => (this.open = resolve));
  }
}

/** The worker operator's last line of defence: which runtimes, and which programs, it runs. */
export interface RuntimePolicy {
  offered: readonly string[];
  /** Programs (trial.command[0]) the command runtime may start; absent: none. */
  allowCommand?: RegExp;
  /** Data roots and resource limits handed to every attempt (absent: the defaults). */
  limits?: WorkerLimits;
  /** Measures attempts' peak GPU memory (absent: not measured, peaks sent as 0). */
  gpuMeter?: GpuMeter;
}

/** Why this worker refuses the assignment, or undefined when it may run it. */
export function refusal(
  policy: RuntimePolicy,
  runtime: string,
  command: readonly string[] | undefined,
): string | undefined {
  if (runtime === 'command' && !policy.allowCommand) {
    return 'this worker does not run programs: its operator did not start it with --allow-command';
  }
  if (!policy.offered.includes(runtime)) {
    return `this worker does not offer the ${runtime} runtime (it offers ${policy.offered.join(', ') || 'none'})`;
  }
  if (runtime === 'command' && policy.allowCommand) {
    const program = command?.[0] ?? '';
    if (!policy.allowCommand.test(program)) {
      return `program ${JSON.stringify(program)} does not match this worker's --allow-command pattern ${String(policy.allowCommand)}`;
    }
  }
  return undefined;
}

export class AttemptRunner {
  private readonly attempts = new Map<string, RunningAttempt>();
  /** Assignments held until the attempt they follow ends (prefetch). */
  private readonly queued = new QueuedAssignments();
  /** Held attempts being prepared (or prepared) ahead of their turn, by attempt id. */
  private readonly preparing = new Map<string, RunningAttempt>();
  /** Set by a drain: held assignments go back, none starts. */
  private handingBack = false;

  constructor(
    private readonly workerId: string,
    private readonly link: CoordinatorLink,
    private readonly log: Logger,
    private readonly policy: RuntimePolicy,
  ) {
    if (env().TRELLIS_DISPATCH_TRACE) dispatchTrace.enable();
  }

  /** Running and held attempts: heartbeats renew both leases, a hello re-adopts both. */
  get running(): string[] {
    return [...this.attempts.keys(), ...this.queued.ids()];
  }

  /** attempt id → attempt token of the running and held attempts (sent with a hello after a reconnect). */
  tokens(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, attempt] of this.attempts) out[id] = attempt.assignment.attempt_token;
    for (const a of this.queued.all()) out[a.attempt_id] = a.attempt_token;
    return out;
  }

  /**
   * Starts an assigned attempt, or holds it until the attempt it follows ends here; a duplicate
   * is ignored; one that comes while `accepting` is false is handed back.
   */
  assign(assignment: Assignment__Output, accepting: boolean): void {
    if (this.attempts.has(assignment.attempt_id) || this.queued.has(assignment.attempt_id)) return;
    dispatchTrace.mark(assignment.attempt_id, 'assigned');
    if (!accepting || this.handingBack) return this.handBackOne(assignment);
    const host = this.attempts.get(assignment.after_attempt_id);
    if (host && !host.ended) {
      dispatchTrace.mark(assignment.attempt_id, 'queued');
      this.queued.hold(host.assignment.attempt_id, assignment);
      void this.prepare(assignment, host);
      return;
    }
    this.start(assignment);
  }

  /**
   * Runs a held attempt up to its slot when its runtime prepares ahead; it waits there until
   * its host releases the slot (ended), or is dropped or handed back (forget).
   */
  private async prepare(assignment: Assignment__Output, host: RunningAttempt): Promise<void> {
    const runtime = await getRuntime(assignment.runtime).catch(() => undefined);
    // After the host's own start: preparing competes for the CPU with nothing on its way.
    await host.begun.opened;
    // Still held (not dropped meanwhile), and worth preparing: else it starts as it comes.
    if (!runtime?.preparesAhead || !this.queued.has(assignment.attempt_id)) return;
    const attempt = this.newAttempt(assignment);
    attempt.slot = new HeldSlot(() =>
      this.log.info(
        { attemptId: assignment.attempt_id, trialId: assignment.trial_id },
        'attempt prepared; it starts when the one ahead ends',
      ),
    );
    const { slot } = attempt;
    attempt.controller.signal.addEventListener('abort', () => slot.refuse(attempt.controller.signal.reason), {
      once: true,
    });
    this.preparing.set(assignment.attempt_id, attempt);
    this.launch(attempt);
  }

  /** A held attempt that will not start here: its preparation stops, and tells the coordinator nothing. */
  private forget(attemptId: string, why: string): void {
    const prepared = this.preparing.get(attemptId);
    if (!prepared) return;
    // It stays in `preparing` until its run() has removed what it prepared (pending()).
    prepared.told = true;
    prepared.controller.abort(new StoppedError(why));
  }

  private handBackOne(assignment: Assignment__Output): void {
    this.link.send({
      stopped: { attempt_id: assignment.attempt_id, reason: 'handed_back', attempt_token: assignment.attempt_token },
    });
  }

  /**
   * The attempt's slot is free (its runtime released it, or its outcome went out): the one held
   * behind it starts (or goes back in a drain). Once per attempt.
   */
  private ended(attempt: RunningAttempt): void {
    if (attempt.ended) return;
    attempt.ended = true;
    const next = this.queued.take(attempt.assignment.attempt_id);
    if (!next) return;
    if (this.handingBack) {
      this.handBackOne(next);
      this.forget(next.attempt_id, 'handed back before it started');
      return;
    }
    const prepared = this.preparing.get(next.attempt_id);
    if (!prepared) return this.start(next);
    // Its program is asked for in this step: the slot runs the runtime's start synchronously.
    dispatchTrace.mark(next.attempt_id, 'started');
    this.preparing.delete(next.attempt_id);
    this.attempts.set(next.attempt_id, prepared);
    prepared.startedAt = Date.now();
    prepared.slot!.open();
  }

  private start(assignment: Assignment__Output): void {
    dispatchTrace.mark(assignment.attempt_id, 'started');
    const attempt = this.newAttempt(assignment);
    this.attempts.set(assignment.attempt_id, attempt);
    this.launch(attempt);
  }

  private newAttempt(assignment: Assignment__Output): RunningAttempt {
    return {
      assignment,
      controller: new AbortController(),
      preempt: new AbortController(),
      done: Promise.resolve(),
      lastStep: -Infinity,
      startedAt: Date.now(),
      begun: new Deferred(),
    };
  }

  private launch(attempt: RunningAttempt): void {
    const id = attempt.assignment.attempt_id;
    attempt.done = this.run(attempt).finally(() => {
      attempt.begun.open();
      this.attempts.delete(id);
      // A held attempt whose preparation failed never starts: the coordinator has its failure.
      if (this.preparing.get(id) === attempt) {
        this.preparing.delete(id);
        if (!attempt.told) this.queued.drop(id);
      }
      dispatchTrace.take(id);
      this.policy.gpuMeter?.finish(id);
    });
  }

  /** The coordinator's stop (cancel, prune): aborts the attempt, which reports `stopped`. */
  stop(attemptId: string, reason: string): void {
    const held = this.queued.drop(attemptId);
    if (held) {
      this.log.info({ attemptId, reason }, 'dropping a held attempt before it started');
      this.link.send({ stopped: { attempt_id: attemptId, reason: 'stopped', attempt_token: held.attempt_token } });
      this.forget(attemptId, 'dropped before it started');
      return;
    }
    const attempt = this.attempts.get(attemptId);
    if (!attempt) return;
    this.log.info({ attemptId, reason }, 'stopping attempt');
    attempt.controller.abort(new StoppedError(reason || 'stopped'));
  }

  /**
   * The drain: asks every running attempt to checkpoint and stop (tfjs tasks at their next epoch
   * end; programs get SIGTERM and `trial.stopGraceSeconds`). True when all ended within graceMs;
   * each went back to the coordinator as `preempted`.
   */
  async preemptAll(graceMs: number): Promise<boolean> {
    this.handBackHeld();
    for (const attempt of this.attempts.values()) attempt.preempt.abort(new StoppedError(PREEMPTED));
    return Promise.race([
      Promise.all(this.pending()).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
    ]);
  }

  /** Grace time over: aborts every attempt still running as `preempted` (requeued at once), waiting a little for them. */
  async handBack(): Promise<void> {
    this.handBackHeld();
    for (const attempt of this.attempts.values()) attempt.controller.abort(new StoppedError(PREEMPTED));
    await Promise.race([
      Promise.all(this.pending()),
      new Promise((resolve) => setTimeout(resolve, HAND_BACK_WAIT_MS).unref()),
    ]);
  }

  /** A drain: every held assignment goes back unstarted (requeued at once, costing no attempt). */
  private handBackHeld(): void {
    this.handingBack = true;
    for (const assignment of this.queued.takeAll()) {
      this.handBackOne(assignment);
      this.forget(assignment.attempt_id, 'handed back before it started');
    }
  }

  /** Running attempts, and held ones still removing what was prepared for them. */
  private pending(): Promise<void>[] {
    return [...this.attempts.values(), ...this.preparing.values()].map((a) => a.done);
  }

  private async run(attempt: RunningAttempt): Promise<void> {
    const a = attempt.assignment;
    const log = this.log.child({ attemptId: a.attempt_id, trialId: a.trial_id });
    // The program's output, kept bounded and sent before the outcome (so the log is complete
    // when the coordinator ends the attempt).
    const output = new AttemptOutputStream(a.attempt_id, (message) => this.link.send(message));
    // Every message and artifact call about the attempt shows its token (the coordinator's check).
    const token = a.attempt_token;
    let cleanup: Promise<void> | undefined;
    try {
      const ctx = this.contextFor(attempt, log, output);
      const refused = refusal(this.policy, a.runtime, ctx.config.command);
      if (refused) throw new PermanentRunError(refused);
      const runtime = await getRuntime(a.runtime);
      ctx.config = (await this.resolveArtifactRefs(ctx.config, a)) as typeof ctx.config;
      // Only a runtime that prepares ahead gets a slot (prepare): it takes it before its start.
      if (attempt.slot) ctx.slot = attempt.slot;
      log.info({ runtime: a.runtime, gpus: a.gpu_ids }, attempt.slot ? 'preparing a held attempt' : 'attempt started');
      const result = await runtime.run(ctx);
      cleanup = result.cleanup?.catch((err: unknown) =>
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'attempt clean-up failed'),
      );
      output.finish();
      if (attempt.controller.signal.aborted) throw attempt.controller.signal.reason;
      if (result.info.outputs && typeof result.info.outputs === 'object') {
        result.info.outputs = await this.storeLargeOutputs(a, result.info.outputs as Record<string, unknown>);
      }
      this.link.send({
        result: {
          attempt_id: a.attempt_id,
          attempt_token: token,
          metrics: finiteOnly(result.metrics),
          peak_gpu_memory_bytes: String(this.policy.gpuMeter?.finish(a.attempt_id) ?? 0),
          info_json: JSON.stringify({
            ...result.info,
            workerId: this.workerId,
            codeVersion: codeVersion(),
            durationMs: Date.now() - attempt.startedAt,
            ...traceOf(a.attempt_id),
          }),
        },
      });
      log.info({ metrics: result.metrics, ms: Date.now() - attempt.startedAt }, 'attempt succeeded');
    } catch (err) {
      output.finish();
      if (attempt.told) {
        log.info('held attempt dropped before it started; what was prepared for it is removed');
        return;
      }
      const reason: unknown = attempt.controller.signal.aborted ? attempt.controller.signal.reason : undefined;
      if (reason instanceof StoppedError || err instanceof StoppedError) {
        const why = reason instanceof StoppedError ? reason.message : (err as Error).message;
        const preempted = why === PREEMPTED || attempt.preempt.signal.aborted;
        this.link.send({
          stopped: { attempt_id: a.attempt_id, reason: preempted ? PREEMPTED : 'stopped', attempt_token: token },
        });
        log.info({ reason: why }, 'attempt stopped');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      const retryable = !(err instanceof PermanentRunError);
      const failure = failureOf(err, message, retryable);
      this.link.send({
        failure: {
          attempt_id: a.attempt_id,
          error: message.slice(0, 8000),
          retryable,
          kind: failure.kind,
          evidence: failure.evidence,
          peak_gpu_memory_bytes: String(this.policy.gpuMeter?.finish(a.attempt_id) ?? 0),
          attempt_token: token,
        },
      });
      log.warn({ err: message, retryable, kind: failure.kind }, 'attempt failed');
    } finally {
      // Its outcome is out: what was held behind it starts now (unless its runtime released the
      // slot earlier), before the clean-up.
      this.ended(attempt);
      // The attempt is over (and the worker may shut down) once its clean-up is done too.
      await cleanup;
    }
  }

  private contextFor(attempt: RunningAttempt, log: Logger, output: AttemptOutputStream): AttemptContext {
    const a = attempt.assignment;
    const config = JSON.parse(a.config_json) as TrialConfig;
    const params = JSON.parse(a.params_json || '{}') as Params;
    return {
      began: () => attempt.begun.open(),
      released: () => this.ended(attempt),
      experimentId: a.experiment_id,
      trialId: a.trial_id,
      trialNumber: a.trial_number,
      attemptId: a.attempt_id,
      attemptNumber: a.attempt,
      config,
      params,
      seed: Number(a.seed),
      gpuIds: a.gpu_ids,
      signal: attempt.controller.signal,
      preempt: attempt.preempt.signal,
      report: (step, metrics) => {
        // Never stored wrong, never dropped without a word: a bad step is refused, and the
        // coordinator counts it on the trial (Trial.step_warnings).
        if (step === attempt.lastStep) return; // a step already reported is ignored (docs/programs.md)
        const refused = stepProblem(step, attempt.lastStep);
        if (refused) {
          log.warn({ step, lastStep: attempt.lastStep }, `report refused: ${refused}`);
          this.link.send({
            progress: { attempt_id: a.attempt_id, attempt_token: a.attempt_token, step_refused: refused, metrics: {} },
          });
          return;
        }
        attempt.lastStep = step;
        this.link.send({
          progress: {
            attempt_id: a.attempt_id,
            attempt_token: a.attempt_token,
            ...stepOnWire(step),
            metrics: finiteOnly(metrics),
          },
        });
      },
      checkpoint: {
        load: async (): Promise<Checkpoint | undefined> => {
          if (!a.checkpoint_artifact_id) return undefined;
          const response = await this.link.unary<{ data: Buffer }>('GetArtifact', {
            artifact_id: a.checkpoint_artifact_id,
            attempt_id: a.attempt_id,
            attempt_token: a.attempt_token,
          });
          const step = stepFromWire(a.checkpoint_step, a.checkpoint_step64);
          attempt.lastStep = Math.max(attempt.lastStep, step);
          return { step, data: Buffer.from(response.data) };
        },
        save: async (checkpoint: Checkpoint): Promise<void> => {
          const response = await this.link.unary<{ artifact_id: string }>('PutArtifact', {
            attempt_id: a.attempt_id,
            attempt_token: a.attempt_token,
            kind: 'checkpoint',
            ...stepOnWire(checkpoint.step),
            data: checkpoint.data,
          });
          this.announceCheckpoint(a, response.artifact_id, checkpoint.step);
        },
        loadFile: async (path: string): Promise<FileCheckpoint | undefined> => {
          if (!a.checkpoint_artifact_id) return undefined;
          const got = await this.link.downloadFile(
            { artifactId: a.checkpoint_artifact_id, attemptId: a.attempt_id, attemptToken: a.attempt_token, path },
            attempt.controller.signal,
          );
          const step = stepFromWire(a.checkpoint_step, a.checkpoint_step64);
          attempt.lastStep = Math.max(attempt.lastStep, step);
          return { step, path, size: got.size, sha256: got.sha256 };
        },
        saveFile: async (checkpoint: FileCheckpoint): Promise<void> => {
          const artifactId = await this.link.uploadFile({
            attemptId: a.attempt_id,
            attemptToken: a.attempt_token,
            kind: 'checkpoint',
            step: checkpoint.step,
            path: checkpoint.path,
            size: checkpoint.size,
            sha256: checkpoint.sha256,
          });
          this.announceCheckpoint(a, artifactId, checkpoint.step);
        },
      },
      log: (line) => log.info({ line: cutLine(line) }, 'trial log'),
      output: output.line,
      ...(this.policy.limits ? { limits: this.policy.limits } : {}),
      gpuMemoryBytes: Number(a.gpu_memory_bytes ?? 0),
      onProcesses: (mark) => this.policy.gpuMeter?.track(a.attempt_id, mark),
    };
  }

  /** Tells the coordinator the trial's latest checkpoint (stored as `artifactId`). */
  private announceCheckpoint(a: Assignment__Output, artifactId: string, step: number): void {
    this.link.send({
      checkpoint: {
        attempt_id: a.attempt_id,
        attempt_token: a.attempt_token,
        artifact_id: artifactId,
        ...stepOnWire(step),
      },
    });
  }

  /**
   * Stage outputs larger than OUTPUT_INLINE_LIMIT travel as artifacts: the value is stored with
   * PutArtifact and replaced by `{ "$artifact": id }`. A later stage's config holding such a
   * reference gets the value back (resolveArtifactRefs) before its task sees it.
   */
  private async storeLargeOutputs(
    a: Assignment__Output,
    outputs: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(outputs)) {
      const json = JSON.stringify(value);
      if (json !== undefined && json.length > OUTPUT_INLINE_LIMIT) {
        const response = await this.link.unary<{ artifact_id: string }>('PutArtifact', {
          attempt_id: a.attempt_id,
          attempt_token: a.attempt_token,
          kind: `output-${key}`,
          step: 0,
          data: Buffer.from(json),
        });
        out[key] = { $artifact: response.artifact_id };
      } else {
        out[key] = value;
      }
    }
    return out;
  }

  /**
   * Replaces each `{"$artifact": id}` with the artifact's JSON, read for this attempt. A value
   * that is not JSON fails the attempt naming the artifact, never echoing its bytes.
   */
  private resolveArtifactRefs(value: unknown, a: Assignment__Output): Promise<unknown> {
    return mapArtifactRefsAsync(value, async (id) => {
      const response = await this.link.unary<{ data: Buffer }>('GetArtifact', {
        artifact_id: id,
        attempt_id: a.attempt_id,
        attempt_token: a.attempt_token,
      });
      try {
        return JSON.parse(Buffer.from(response.data).toString('utf8')) as unknown;
      } catch {
        // Not the parser's message: it quotes the artifact's first bytes into a client-visible error.
        throw new PermanentRunError(
          `{"$artifact": ${JSON.stringify(id)}}: the artifact is not a JSON value (a stage output)`,
        );
      }
    });
  }
}

/** The failure kind of a failed attempt: the runtime's classification, diverged, or from the error text. */
function failureOf(err: unknown, message: string, retryable: boolean): Failure {
  if (err instanceof ClassifiedRunError) return err.failure;
  if (err instanceof DivergedError) return { kind: 'diverged', evidence: message.slice(0, 500) };
  return classifyError(message, !retryable);
}

/** The attempt's dispatch stamps (TRELLIS_DISPATCH_TRACE), `result_sent` now; nothing when off. */
function traceOf(attemptId: string): { trace?: Record<string, number> } {
  if (!dispatchTrace.enabled) return {};
  dispatchTrace.mark(attemptId, 'result_sent');
  const trace = dispatchTrace.take(attemptId);
  return trace ? { trace } : {};
}

function finiteOnly(metrics: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics))
    if (typeof value === 'number' && !Number.isNaN(value)) out[key] = value;
  return out;
}
