/**
 * trellis/client — the typed client library the CLI is built on.
 *
 *   import { TrellisClient } from 'trellis/client';
 *   const client = new TrellisClient('127.0.0.1:50051');
 *   const { experiment } = await client.submit(specYaml);
 *   for await (const event of client.watch(experiment.id, { fromSeq: 1 })) console.log(event);
 *
 * Every call has a deadline; failures are TrellisError subclasses (InvalidArgumentError,
 * NotFoundError, FailedPreconditionError, UnavailableError) carrying the server's message.
 */
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { loadProto, type ExperimentServiceClient } from '../shared/proto.js';
import { DeadlineExceededError, fromGrpcError, InvalidArgumentError } from '../shared/errors.js';
import {
  eventFromProto,
  experimentFromProto,
  trialFromProto,
  type ExperimentView,
  type TrialView,
} from '../shared/convert.js';
import type { TrellisEvent } from '../shared/events.js';
import { isTerminal, type ExperimentStatus } from '../shared/states.js';
import { env } from '../shared/env.js';

export type { ExperimentView, TrialView } from '../shared/convert.js';
export type { TrellisEvent } from '../shared/events.js';
export {
  TrellisError,
  InvalidArgumentError,
  NotFoundError,
  FailedPreconditionError,
  UnavailableError,
  DeadlineExceededError,
} from '../shared/errors.js';

export interface ClientOptions {
  /** Deadline of each unary call in ms (default 30 s). */
  timeoutMs?: number;
}

export interface MetricRow {
  trialId: string;
  trialNumber: number;
  attempt: number;
  step: number;
  time: number;
  values: Record<string, number>;
}

export class TrellisClient {
  private readonly client: ExperimentServiceClient;
  private readonly timeoutMs: number;

  constructor(
    readonly address: string = env().TRELLIS_COORDINATOR,
    options: ClientOptions = {},
  ) {
    const { proto } = loadProto();
    this.client = new proto.trellis.v1.ExperimentService(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
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
    const response = await this.call<{ experiments: Parameters<typeof experimentFromProto>[0][] }>('ListExperiments', {
      status,
    });
    return response.experiments.map(experimentFromProto);
  }

  async trials(experimentId: string): Promise<TrialView[]> {
    const response = await this.call<{ trials: Parameters<typeof trialFromProto>[0][] }>('ListTrials', {
      experiment_id: experimentId,
    });
    return response.trials.map(trialFromProto);
  }

  async cancel(id: string): Promise<ExperimentView> {
    const response = await this.call<{ experiment: Parameters<typeof experimentFromProto>[0] }>('CancelExperiment', {
      id,
    });
    return experimentFromProto(response.experiment);
  }

  async exportMetrics(experimentId: string): Promise<MetricRow[]> {
    const response = await this.call<{
      rows: {
        trial_id: string;
        trial_number: number;
        attempt: number;
        step: number;
        time_ms: string;
        values: Record<string, number>;
      }[];
    }>('ExportMetrics', { experiment_id: experimentId });
    return response.rows.map((r) => ({
      trialId: r.trial_id,
      trialNumber: r.trial_number,
      attempt: r.attempt,
      step: r.step,
      time: Number(r.time_ms),
      values: { ...r.values },
    }));
  }

  /**
   * The experiment's events as an async iterator: history from `fromSeq` (1 = the whole
   * history; omitted = live only), then live; ends after the experiment's terminal state.
   */
  async *watch(
    experimentId: string,
    options: { fromSeq?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<TrellisEvent> {
    const call = this.client.WatchEvents({ experiment_id: experimentId, from_seq: String(options.fromSeq ?? 0) });
    const onAbort = (): void => call.cancel();
    options.signal?.addEventListener('abort', onAbort);
    try {
      for await (const message of call as AsyncIterable<Parameters<typeof eventFromProto>[0]>) {
        yield eventFromProto(message);
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      throw fromGrpcError(err);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      call.cancel();
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
          if ((err as Error).name !== 'UnavailableError' || attempt > 100) throw err;
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

  close(): void {
    this.client.close();
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
        err ? reject(fromGrpcError(err)) : resolve(value as T),
      );
    });
  }
}
