/**
 * trellis/client — the typed client library the CLI is built on.
 *
 *   import { TrellisClient } from 'trellis/client';
 *   const client = new TrellisClient('127.0.0.1:50051');
 *   const { experiment } = await client.submit(specYaml);
 *   for await (const event of client.watch(experiment.id)) console.log(event); // from the first event
 *
 * Every call has a deadline; failures are TrellisError subclasses (InvalidArgumentError,
 * NotFoundError, FailedPreconditionError, UnavailableError) carrying the server's message.
 */
import { stepFromWire } from '../shared/steps.js';
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { loadProto, type ExperimentServiceClient } from '../shared/proto.js';
import {
  DeadlineExceededError,
  fromGrpcError,
  InvalidArgumentError,
  ResourceExhaustedError,
  TransportSecurityError,
  UnavailableError,
} from '../shared/errors.js';

/** Watch resumes in a row that delivered no new event before the error is given to the caller. */
const MAX_IDLE_RESUMES = 5;
import {
  eventFromProto,
  experimentFromProto,
  statusFromEnum,
  trialFromProto,
  type ExperimentView,
  type TrialView,
} from '../shared/convert.js';
import type { TrellisEvent } from '../shared/events.js';
import { isTerminal, type ExperimentStatus, type WorkerStatus } from '../shared/states.js';
import type { WorkerInfo__Output } from '../shared/generated/trellis/v1/WorkerInfo.js';
import { env } from '../shared/env.js';
import { tokenInterceptors } from '../shared/token-metadata.js';
import type { LogSnapshot } from '../shared/bounded-log.js';
import type { AttemptLog__Output } from '../shared/generated/trellis/v1/AttemptLog.js';
import type { WatchAttemptLogResponse__Output } from '../shared/generated/trellis/v1/WatchAttemptLogResponse.js';
import { channelCredentials, transportHint, usesTls, type ClientTls } from '../shared/tls.js';

export type { ExperimentView, TrialView } from '../shared/convert.js';
export type { TrellisEvent } from '../shared/events.js';
export {
  TrellisError,
  InvalidArgumentError,
  NotFoundError,
  FailedPreconditionError,
  UnavailableError,
  UnauthenticatedError,
  PermissionDeniedError,
  DeadlineExceededError,
  TransportSecurityError,
} from '../shared/errors.js';

export interface ClientOptions {
  /** Deadline of each unary call in ms (default 30 s). */
  timeoutMs?: number;
  /** Largest message accepted (default 256 MiB; list answers come in pages of at most ~2 MB). */
  maxReceiveBytes?: number;
  /** Sent with every call (default TRELLIS_TOKEN); needed when the coordinator has tokens. */
  token?: string;
  /**
   * TLS: `ca` trusts the coordinator's certificate (default TRELLIS_TLS_CA); `cert`/`key` present
   * a client certificate. No CA and no certificate: plaintext.
   */
  tls?: ClientTls;
}

export interface WorkerView {
  id: string;
  status: WorkerStatus;
  cpus: number;
  usedCpus: number;
  gpus: string[];
  freeGpus: string[];
  memoryBytes: number;
  usedMemoryBytes: number;
  running: number;
  runtimes: string[];
  labels: Record<string, string>;
  /** Epoch ms of the last hello or heartbeat. */
  lastHeartbeat: number;
  draining: boolean;
  version: string;
}

export interface MetricRow {
  trialId: string;
  trialNumber: number;
  attempt: number;
  step: number;
  time: number;
  values: Record<string, number>;
}

/** A bounded program log (docs/logs.md): head, then tail; `omittedLines` between them. */
export interface AttemptLogView extends LogSnapshot {
  trialId: string;
  attempt: number;
  attemptId: string;
  running: boolean;
  /** `worker` (complete), `live` (what arrived; the worker sent no final log) or `none`. */
  source: string;
}

function logFromProto(m: AttemptLog__Output | null): AttemptLogView {
  return {
    trialId: m?.trial_id ?? '',
    attempt: m?.attempt ?? 0,
    attemptId: m?.attempt_id ?? '',
    head: m?.head ?? [],
    tail: m?.tail ?? [],
    omittedLines: Number(m?.omitted_lines ?? 0),
    omittedBytes: Number(m?.omitted_bytes ?? 0),
    totalLines: Number(m?.total_lines ?? 0),
    totalBytes: Number(m?.total_bytes ?? 0),
    running: m?.running ?? false,
    source: m?.source ?? 'none',
  };
}

export class TrellisClient {
  private readonly client: ExperimentServiceClient;
  private readonly timeoutMs: number;
  private readonly tls: boolean;

  constructor(
    readonly address: string = env().TRELLIS_COORDINATOR,
    options: ClientOptions = {},
  ) {
    const { proto } = loadProto();
    const caFromEnv = env().TRELLIS_TLS_CA;
    const tls = options.tls ?? (caFromEnv ? { ca: caFromEnv } : undefined);
    this.tls = usesTls(tls);
    this.client = new proto.trellis.v1.ExperimentService(address, channelCredentials(tls), {
      'grpc.max_receive_message_length': options.maxReceiveBytes ?? 256 * 1024 * 1024,
      interceptors: tokenInterceptors(options.token ?? env().TRELLIS_TOKEN),
    }) as unknown as ExperimentServiceClient;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Submits a spec (YAML or JSON text). The same requestId returns the same experiment. */
  async submit(
    spec: string,
    options: { requestId?: string; noCache?: boolean } = {},
  ): Promise<{ experiment: ExperimentView; created: boolean }> {
    const response = await this.call<{ experiment: Parameters<typeof experimentFromProto>[0]; created: boolean }>(
      'SubmitExperiment',
      {
        request_id: options.requestId ?? randomUUID(),
        spec,
        no_cache: options.noCache ?? false,
      },
    );
    return { experiment: experimentFromProto(response.experiment), created: response.created };
  }

  async get(id: string): Promise<ExperimentView> {
    const response = await this.call<{ experiment: Parameters<typeof experimentFromProto>[0] }>('GetExperiment', {
      id,
    });
    return experimentFromProto(response.experiment);
  }

  async list(status: ExperimentStatus[] = []): Promise<ExperimentView[]> {
    const experiments = await this.allPages<Parameters<typeof experimentFromProto>[0]>(
      'ListExperiments',
      'experiments',
      {
        status,
      },
    );
    return experiments.map(experimentFromProto);
  }

  /** Every trial of the experiment (the server answers in pages; this follows them all). */
  async trials(experimentId: string): Promise<TrialView[]> {
    const trials = await this.allPages<Parameters<typeof trialFromProto>[0]>('ListTrials', 'trials', {
      experiment_id: experimentId,
    });
    return trials.map(trialFromProto);
  }

  /** The workers the coordinator knows, connected or not, with free and used slots. */
  async workers(): Promise<WorkerView[]> {
    const response = await this.call<{ workers: WorkerInfo__Output[] }>('ListWorkers', {});
    return response.workers.map((w) => ({
      id: w.id,
      status: statusFromEnum(w.state, 'disconnected') as WorkerStatus,
      cpus: w.slots?.cpus ?? 0,
      usedCpus: w.used_cpus,
      gpus: (w.slots?.gpus ?? []).map((g) => g.id),
      freeGpus: w.free_gpu_ids,
      memoryBytes: Number(w.slots?.memory_bytes ?? 0),
      usedMemoryBytes: Number(w.used_memory_bytes),
      running: w.running,
      runtimes: w.runtimes,
      labels: { ...w.labels },
      lastHeartbeat: Number(w.last_heartbeat_ms),
      draining: w.draining,
      version: w.version,
    }));
  }

  /** Admin: drains a connected worker (see DrainWorker); returns the attempts it was running. */
  async drainWorker(workerId: string): Promise<string[]> {
    const response = await this.call<{ running_attempt_ids: string[] }>('DrainWorker', { worker_id: workerId });
    return response.running_attempt_ids;
  }

  async cancel(id: string): Promise<ExperimentView> {
    const response = await this.call<{ experiment: Parameters<typeof experimentFromProto>[0] }>('CancelExperiment', {
      id,
    });
    return experimentFromProto(response.experiment);
  }

  async exportMetrics(experimentId: string): Promise<MetricRow[]> {
    const rows = await this.allPages<{
      trial_id: string;
      trial_number: number;
      attempt: number;
      step: number;
      step64?: string;
      time_ms: string;
      values: Record<string, number>;
    }>('ExportMetrics', 'rows', { experiment_id: experimentId });
    return rows.map((r) => ({
      trialId: r.trial_id,
      trialNumber: r.trial_number,
      attempt: r.attempt,
      step: stepFromWire(r.step, r.step64),
      time: Number(r.time_ms),
      values: { ...r.values },
    }));
  }

  /**
   * The experiment's events as an async iterator: the history from the first event (or from
   * `fromSeq`; none with `liveOnly`), then live ones; ends after the experiment's terminal state.
   */
  async *watch(
    experimentId: string,
    options: { fromSeq?: number; liveOnly?: boolean; signal?: AbortSignal; onResume?: (fromSeq: number) => void } = {},
  ): AsyncGenerator<TrellisEvent> {
    // A reader slower than the coordinator allows is disconnected with RESOURCE_EXHAUSTED and a
    // resume point; the stream is then reopened from the last event received + 1, so the caller
    // sees every event once. Resumes that deliver nothing new are bounded (MAX_IDLE_RESUMES).
    let last = 0;
    let idleResumes = 0;
    for (;;) {
      const fromSeq = last > 0 ? last + 1 : (options.fromSeq ?? 0);
      const call = this.client.WatchEvents({
        experiment_id: experimentId,
        from_seq: String(fromSeq),
        from_start: last === 0 && !options.liveOnly && !options.fromSeq,
        live_only: last === 0 && (options.liveOnly ?? false),
      });
      const onAbort = (): void => call.cancel();
      options.signal?.addEventListener('abort', onAbort);
      const before = last;
      try {
        for await (const message of call as AsyncIterable<Parameters<typeof eventFromProto>[0]>) {
          const event = eventFromProto(message);
          last = event.seq;
          yield event;
        }
        return;
      } catch (err) {
        if (options.signal?.aborted) return;
        const mapped = fromGrpcError(err);
        const slow = mapped instanceof ResourceExhaustedError && mapped.resumeFromSeq !== undefined;
        idleResumes = last > before ? 0 : idleResumes + 1;
        if (!slow || idleResumes > MAX_IDLE_RESUMES) throw mapped;
        // Nothing received yet: the same request again (what the server wrote but we did not read is gone).
        options.onResume?.(last > 0 ? last + 1 : (options.fromSeq ?? 1));
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
        call.cancel();
      }
    }
  }

  /**
   * Resolves when the experiment is terminal (follows the event stream, re-checking on
   * reconnect). With `timeoutMs`, rejects with DeadlineExceededError naming the experiment and
   * its last status once that many milliseconds have passed; without it, waits as long as it takes.
   */
  async wait(
    experimentId: string,
    onEvent?: (event: TrellisEvent) => void,
    options: { timeoutMs?: number } = {},
  ): Promise<ExperimentView> {
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0))
      throw new InvalidArgumentError([`timeoutMs: must be a number > 0, got ${timeoutMs}`]);
    const deadline = new AbortController();
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => deadline.abort(), timeoutMs);
    const expired = async (): Promise<DeadlineExceededError> => {
      const status = await this.get(experimentId).then(
        (e) => e.status,
        () => 'unknown',
      );
      return new DeadlineExceededError(
        `experiment ${experimentId} was not finished after ${timeoutMs} ms (status: ${status})`,
      );
    };
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          for await (const event of this.watch(experimentId, { fromSeq: 1, signal: deadline.signal })) onEvent?.(event);
          if (deadline.signal.aborted) throw await expired();
          const experiment = await this.get(experimentId);
          if (isTerminal('experiment', experiment.status)) return experiment;
        } catch (err) {
          if (!(err instanceof UnavailableError) || err instanceof TransportSecurityError || attempt > 100) throw err;
          const pause = Math.min(5000, 200 * 2 ** Math.min(attempt, 5));
          await new Promise((resolve) => {
            const t = setTimeout(resolve, pause);
            deadline.signal.addEventListener('abort', () => (clearTimeout(t), resolve(undefined)), { once: true });
          });
          if (deadline.signal.aborted) throw await expired();
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** A trial attempt's program output (attempt 0 = the latest), bounded: head and tail. */
  async logs(trialId: string, attempt = 0): Promise<AttemptLogView> {
    const response = await this.call<{ log: AttemptLog__Output }>('GetAttemptLog', { trial_id: trialId, attempt });
    return logFromProto(response.log);
  }

  /**
   * The attempt's log so far (`snapshot`), then new lines as they arrive (`lines`, and how many
   * the worker did not send live), until the attempt ended (`ended`, with the stored log).
   */
  async *followLogs(
    trialId: string,
    attempt = 0,
    signal?: AbortSignal,
  ): AsyncGenerator<{ snapshot?: AttemptLogView; lines: string[]; skipped: number; ended: boolean }> {
    const call = this.client.WatchAttemptLog({ trial_id: trialId, attempt });
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort);
    try {
      for await (const m of call as AsyncIterable<WatchAttemptLogResponse__Output>) {
        yield {
          ...(m.snapshot ? { snapshot: logFromProto(m.snapshot) } : {}),
          lines: m.lines,
          skipped: Number(m.skipped_lines),
          ended: m.ended,
        };
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw fromGrpcError(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  close(): void {
    this.client.close();
  }

  /** Calls a paged list method until next_page_token is empty; returns the items of all pages. */
  private async allPages<T>(method: string, field: string, request: object): Promise<T[]> {
    const items: T[] = [];
    let token = '';
    do {
      const response = await this.call<Record<string, unknown> & { next_page_token: string }>(method, {
        ...request,
        page_token: token,
      });
      items.push(...((response[field] as T[] | undefined) ?? []));
      token = response.next_page_token;
    } while (token);
    return items;
  }

  private call<T>(method: string, request: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const fn = (
        this.client as unknown as Record<
          string,
          (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: T) => void) => void
        >
      )[method]!;
      fn.call(this.client, request, { deadline: new Date(Date.now() + this.timeoutMs) }, (err, value) =>
        err ? reject(this.failure(err)) : resolve(value as T),
      );
    });
  }

  /** A call's error as a TrellisError; a connection that failed over TLS (or for lack of it) says so. */
  private failure(err: unknown): Error {
    const mapped = fromGrpcError(err);
    if (mapped instanceof UnavailableError) {
      const hint = transportHint(mapped.message, this.address, this.tls);
      if (hint) return new TransportSecurityError(hint);
    }
    return mapped;
  }
}
