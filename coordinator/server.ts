/**
 * The coordinator's gRPC server: ExperimentService and WorkerService adapted onto the
 * Coordinator, plus the standard health service (NOT_SERVING until the store and bus are up,
 * and again while closing) and server reflection (so grpcurl works).
 *
 * Every ExperimentService and WorkerService handler goes through `admit` (auth/guard.ts) first:
 * authentication and the role table live there, nowhere else. Specs leave through
 * `redactEnv` (shared/redact.ts), events too.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { loadProto, type ExperimentServiceHandlers, type WorkerServiceHandlers } from '../shared/proto.js';
import { InvalidArgumentError, ResourceExhaustedError, toGrpcError } from '../shared/errors.js';
import { eventToProto, experimentToProto, statusFromEnum, trialToProto } from '../shared/convert.js';
import { fromStruct } from '../shared/struct.js';
import { paginate } from './paging.js';
import { workerToProto } from './workers-view.js';
import type { Coordinator } from './coordinator.js';
import { addReflection, REFLECTION_METHOD } from './reflection.js';
import type { ExperimentStatus } from '../shared/states.js';
import type { WorkerMessage__Output } from '../shared/generated/trellis/v1/WorkerMessage.js';
import type { ExperimentDoc } from '../shared/types.js';
import type { TrellisEvent } from '../shared/events.js';
import { admit } from './auth/guard.js';
import type { AuditRecord } from './auth/audit.js';
import { assertOwner, type Identity } from './auth/policy.js';
import { redactEnv } from '../shared/redact.js';
import { stepFromWire, stepOnWire } from '../shared/steps.js';
import type { Authenticator } from './auth/tokens.js';
import { Callers, peerHost, type FlowStats } from './flow/callers.js';
import { flowLimitsFromEnv, type FlowLimits } from './flow/limits.js';
import { UploadGuard } from './flow/uploads.js';
import { ArtifactStreams } from './artifacts/streams.js';
import { serveWatch } from './flow/watch.js';
import { pacedReader } from './flow/reports.js';

/** Replies queued on a worker stream that is not read before the worker is disconnected. */
const WORKER_BACKLOG = 1000;
import type { AttemptLogView } from './attempt-logs.js';
import type { AttemptLog } from '../shared/generated/trellis/v1/AttemptLog.js';
import { certificateName, serverCredentials, type ServerTls } from './auth/tls.js';

export interface ServerOptions {
  /** Who may call what; absent: no authentication (every caller is an anonymous admin). */
  auth?: Authenticator;
  /** Back-pressure and fairness bounds (default: from the environment, coordinator/flow/limits.ts). */
  limits?: FlowLimits;
  /** Serve TLS (and, with clientCa, identify workers by certificate); absent: plaintext. */
  tls?: ServerTls;
}

/** An experiment as clients see it: trial.env values redacted. */
function visible(doc: ExperimentDoc): ReturnType<typeof experimentToProto> {
  return experimentToProto({ ...doc, spec: redactEnv(doc.spec) } as ExperimentDoc);
}

/** Converted once per event, however many watchers it goes to (events are immutable once stored). */
const visibleEvents = new WeakMap<TrellisEvent, ReturnType<typeof eventToProto>>();

function visibleEvent(event: TrellisEvent): ReturnType<typeof eventToProto> {
  let proto = visibleEvents.get(event);
  if (!proto) {
    proto = eventToProto({ ...event, payload: redactEnv(event.payload) } as TrellisEvent);
    visibleEvents.set(event, proto);
  }
  return proto;
}

/**
 * Where WatchEvents starts, as the coordinator's `fromSeq` (0 = live only). The default, with
 * nothing set, is the first event: the natural call misses nothing.
 */
export function watchStart(request: { from_seq?: string | number; from_start?: boolean; live_only?: boolean }): number {
  const fromSeq = Number(request.from_seq ?? 0);
  if (!Number.isSafeInteger(fromSeq) || fromSeq < 0) {
    throw new InvalidArgumentError([`from_seq: ${String(request.from_seq)} is not a sequence number (0 or more)`]);
  }
  if (request.live_only && (fromSeq > 0 || request.from_start)) {
    throw new InvalidArgumentError(['live_only: cannot be combined with from_seq or from_start']);
  }
  if (fromSeq > 0) return fromSeq;
  return request.live_only ? 0 : 1;
}

function attemptLogToProto(view: AttemptLogView): AttemptLog {
  return {
    trial_id: view.trialId,
    attempt: view.attempt,
    attempt_id: view.attemptId,
    head: view.head,
    tail: view.tail,
    omitted_lines: String(view.omittedLines),
    omitted_bytes: String(view.omittedBytes),
    total_lines: String(view.totalLines),
    total_bytes: String(view.totalBytes),
    running: view.running,
    source: view.source,
  };
}

export interface ServerHandle {
  address: string;
  port: number;
  /** What the flow bounds refused or slowed so far. */
  flow: FlowStats;
  close(graceMs?: number): Promise<void>;
}

export async function startServer(
  coordinator: Coordinator,
  listen: string,
  log: Logger,
  options: ServerOptions = {},
): Promise<ServerHandle> {
  const limits = options.limits ?? flowLimitsFromEnv();
  const callers = new Callers(limits);
  const uploads = new UploadGuard(limits, callers, log);
  /** Whose budget a call spends: its token's name, or (without tokens) its peer's host. */
  const callerOf = (who: Identity, call: { getPeer(): string }): string =>
    options.auth ? `token ${who.name}` : `host ${peerHost(call.getPeer())}`;

  const audit = coordinator.audit;
  const credentials = serverCredentials(options.tls);
  /** admit (auth/guard.ts) with what the transport knows of the caller. */
  const gate = (
    call: {
      metadata: grpc.Metadata;
      getPeer(): string;
      getAuthContext?: () => { sslPeerCertificate?: { subject?: Record<string, unknown> } };
    },
    method: string,
  ): Identity => {
    const name = options.tls?.clientCa ? certificateName(call) : undefined;
    return admit(options.auth, call.metadata, method, audit, call.getPeer(), {
      workerCertificates: !!options.tls?.clientCa,
      ...(name ? { certificateName: name } : {}),
    });
  };
  /** Submits and cancels are audited one by one (auth/audit.ts): `ok`, or the refusal's status. */
  const OWN_KIND: Record<string, 'submit' | 'cancel'> = {
    'ExperimentService.SubmitExperiment': 'submit',
    'ExperimentService.CancelExperiment': 'cancel',
  };

  /**
   * Wraps an async unary handler: admission first, then every error through the one mapping to
   * gRPC codes. A PERMISSION_DENIED from the handler (ownership, artifacts) is audited as a
   * denial; a failed submit or cancel as that call with its status.
   */
  /** A failed call's status (the one mapping); a PERMISSION_DENIED is audited as a denial. */
  const failed = (who: Identity | undefined, method: string, peer: string, err: unknown): grpc.ServiceError => {
    const mapped = toGrpcError(err);
    if (mapped.code === grpc.status.INTERNAL) log.error({ err }, 'request failed');
    if (who && mapped.code === grpc.status.PERMISSION_DENIED) {
      audit.record({
        identity: who.name,
        role: who.role,
        method,
        peer,
        kind: 'denied',
        outcome: 'PERMISSION_DENIED',
        reason: mapped.details ?? '',
      });
    }
    return mapped as grpc.ServiceError;
  };
  const artifactStreams = new ArtifactStreams({
    leases: coordinator.leases,
    store: coordinator.store,
    limits,
    log,
    admit: (call, method) => {
      const who = gate(call, method);
      callers.admitCall(callerOf(who, call), method);
      return who;
    },
    failed,
  });

  const unary =
    <Req, Res>(
      method: string,
      fn: (request: Req, who: Identity, record: (fields: Partial<AuditRecord>) => void) => Promise<Res>,
    ): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      const peer = call.getPeer();
      let who: Identity;
      try {
        who = gate(call, method);
        callers.admitCall(callerOf(who, call), method);
      } catch (err) {
        callback(toGrpcError(err) as grpc.ServiceError);
        return;
      }
      const base = { identity: who.name, role: who.role, method, peer };
      const record = (fields: Partial<AuditRecord>): void => {
        const kind = OWN_KIND[method];
        if (kind) audit.record({ ...base, kind, outcome: 'ok', ...fields });
      };
      fn(call.request, who, record).then(
        (response) => callback(null, response),
        (err: unknown) => {
          const mapped = toGrpcError(err);
          if (mapped.code === grpc.status.INTERNAL) log.error({ err }, 'request failed');
          const outcome = grpc.status[mapped.code ?? grpc.status.UNKNOWN];
          if (mapped.code === grpc.status.PERMISSION_DENIED) {
            audit.record({ ...base, kind: 'denied', outcome, reason: mapped.details ?? '' });
          } else {
            record({ outcome, reason: mapped.details ?? '' });
          }
          callback(mapped as grpc.ServiceError);
        },
      );
    };

  const { proto } = loadProto();
  const server = new grpc.Server({
    // Uploads are bounded by the upload guard (flow/uploads.ts) before this applies.
    'grpc.max_receive_message_length': Math.max(256 * 1024 * 1024, limits.uploadMaxBytes + 64 * 1024),
    'grpc.max_send_message_length': 256 * 1024 * 1024,
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    interceptors: [uploads.interceptor],
  });

  const experiments: ExperimentServiceHandlers = {
    SubmitExperiment: unary('ExperimentService.SubmitExperiment', async (req, who, record) => {
      if (req.spec && req.spec_document) {
        throw new InvalidArgumentError(['spec, spec_document: give one of them, not both']);
      }
      // A structured spec is JSON, and JSON is YAML: both go through the one validator.
      const text = req.spec_document ? JSON.stringify(fromStruct(req.spec_document)) : req.spec;
      const { experiment, created } = await coordinator.submit(text, req.request_id, {
        noCache: req.no_cache,
        owner: who.name,
        submitter: who,
      });
      record({
        experimentId: experiment.id,
        ...(created ? {} : { reason: 'request id seen before: no new experiment' }),
      });
      return { experiment: visible(experiment), created };
    }),
    GetExperiment: unary('ExperimentService.GetExperiment', async (req) => ({
      experiment: visible(await coordinator.get(req.id)),
    })),
    ListExperiments: unary('ExperimentService.ListExperiments', async (req) => {
      const statuses = [
        ...(req.status ?? []),
        ...(req.states ?? []).map((state) => statusFromEnum(state as string, '')).filter(Boolean),
      ];
      // Without include_spec the specs are neither read nor sent (GetExperiment gives one).
      const { page, next_page_token } = req.include_spec
        ? paginate(
            await coordinator.list(statuses as ExperimentStatus[]),
            req,
            { defaultSize: 500, maxSize: 10_000, what: 'experiments' },
            visible,
          )
        : paginate(
            await coordinator.summaries(statuses as ExperimentStatus[]),
            req,
            { defaultSize: 500, maxSize: 10_000, what: 'experiments' },
            (doc) => ({ ...experimentToProto({ ...doc, spec: {} } as ExperimentDoc), spec_json: '', spec: null }),
          );
      return { experiments: page, next_page_token };
    }),
    ListTrials: unary('ExperimentService.ListTrials', async (req) => {
      const { page, next_page_token } = paginate(
        await coordinator.trials(req.experiment_id),
        req,
        { defaultSize: 1000, maxSize: 10_000, what: `trials of ${req.experiment_id}` },
        trialToProto,
      );
      return { trials: page, next_page_token };
    }),
    ListWorkers: unary('ExperimentService.ListWorkers', async () => ({
      workers: (await coordinator.workers()).map(workerToProto),
    })),
    DrainWorker: unary('ExperimentService.DrainWorker', async (req, who) => ({
      running_attempt_ids: coordinator.drainWorker(req.worker_id, who.name),
    })),
    CancelExperiment: unary('ExperimentService.CancelExperiment', async (req, who, record) => {
      assertOwner(who, await coordinator.get(req.id));
      const cancelled = await coordinator.cancel(req.id);
      record({ experimentId: req.id });
      return { experiment: visible(cancelled) };
    }),
    ExportMetrics: unary('ExperimentService.ExportMetrics', async (req) => {
      const { page, next_page_token } = paginate(
        await coordinator.exportMetrics(req.experiment_id),
        req,
        { defaultSize: 10_000, maxSize: 100_000, what: `metrics of ${req.experiment_id}` },
        (m) => ({
          trial_id: m.trialId,
          trial_number: m.trialNumber,
          attempt: m.attempt,
          ...stepOnWire(m.step),
          time_ms: String(m.time),
          values: m.values,
        }),
      );
      return { rows: page, next_page_token };
    }),
    GetAttemptLog: unary('ExperimentService.GetAttemptLog', async (req) => {
      const { trial, experiment } = await coordinator.trial(req.trial_id);
      return { log: attemptLogToProto(await coordinator.logs.read(trial, experiment, req.attempt)) };
    }),
    WatchAttemptLog: (call) => {
      try {
        gate(call, 'ExperimentService.WatchAttemptLog');
      } catch (err) {
        log.warn({ method: 'ExperimentService.WatchAttemptLog', err: (err as Error).message }, 'call refused');
        call.emit('error', toGrpcError(err));
        return;
      }
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      call.on('close', () => abort.abort());
      void (async () => {
        try {
          const { trial, experiment } = await coordinator.trial(call.request.trial_id);
          for await (const item of coordinator.logs.follow(trial, experiment, call.request.attempt, abort.signal)) {
            const message =
              'snapshot' in item
                ? { snapshot: attemptLogToProto(item.snapshot) }
                : 'ended' in item
                  ? { snapshot: attemptLogToProto(item.ended), ended: true }
                  : { lines: item.lines, skipped_lines: String(item.skipped) };
            if (!call.write(message)) await new Promise((resolve) => call.once('drain', resolve));
          }
          call.end();
        } catch (err) {
          call.emit('error', toGrpcError(err));
        }
      })();
    },
    WatchEvents: (call) => {
      let release: () => void;
      let fromSeq: number;
      try {
        const who = gate(call, 'ExperimentService.WatchEvents');
        fromSeq = watchStart(call.request);
        release = callers.openStream(callerOf(who, call), 'WatchEvents');
      } catch (err) {
        call.emit('error', toGrpcError(err));
        return;
      }
      // Headers now: the client knows the watch was admitted before any event exists.
      call.sendMetadata(new grpc.Metadata());
      const abort = new AbortController();
      const closed = (): void => {
        release();
        abort.abort();
      };
      call.on('cancelled', closed);
      call.on('close', closed);
      void serveWatch(
        call,
        { experimentId: call.request.experiment_id, fromSeq },
        { coordinator, callers, log, toProto: visibleEvent },
        abort.signal,
      );
    },
  };

  const workers: WorkerServiceHandlers = {
    Connect: (call) => {
      let release: () => void;
      let who: Identity;
      try {
        who = gate(call, 'WorkerService.Connect');
        release = callers.openStream(callerOf(who, call), 'Connect');
      } catch (err) {
        call.emit('error', toGrpcError(err));
        return;
      }
      log.info({ identity: who.name, role: who.role }, 'worker stream opened');
      let ended = false;
      const connection = coordinator.connectWorker(
        {
          send: (message) => {
            if (ended) return;
            // A worker that does not read its stream is disconnected before its replies pile up.
            if (!call.write(message) && call.writableLength > WORKER_BACKLOG) {
              callers.stats.slowWorkers++;
              log.warn(
                { peer: call.getPeer(), backlog: call.writableLength },
                'worker not reading its stream; disconnected',
              );
              closed();
              call.emit(
                'error',
                toGrpcError(
                  new ResourceExhaustedError(
                    `Connect: the worker left ${WORKER_BACKLOG} messages unread (slow consumer); reconnect and read them`,
                  ),
                ),
              );
            }
          },
          end: () => {
            if (!ended) {
              ended = true;
              call.end();
            }
          },
          fail: (err) => {
            if (!ended) {
              ended = true;
              call.emit('error', toGrpcError(err));
            }
          },
        },
        log,
        who,
      );
      // Each worker stream reads at most `reportsPerSecond` messages (bursts of twice that);
      // past that the stream is paused, so HTTP/2 flow control slows the sender: nothing is dropped.
      call.on(
        'data',
        pacedReader(call, limits.reportsPerSecond, callers.stats, log, (message: WorkerMessage__Output) =>
          connection.onMessage(message),
        ),
      );
      const closed = (): void => {
        release();
        if (ended) return;
        ended = true;
        connection.onClose();
      };
      call.on('end', () => {
        closed();
        call.end();
      });
      call.on('error', closed);
      call.on('cancelled', closed);
      call.on('close', closed);
    },
    PutArtifact: unary('WorkerService.PutArtifact', async (req, who) => ({
      artifact_id: await coordinator.putArtifact(
        who,
        { id: req.attempt_id, token: req.attempt_token },
        req.kind,
        stepFromWire(req.step, req.step64),
        Buffer.from(req.data),
      ),
    })),
    GetArtifact: unary('WorkerService.GetArtifact', async (req, who) => {
      // Naming an attempt makes it a worker's read for that attempt; without one, a client's.
      const attempt = req.attempt_id ? { id: req.attempt_id, token: req.attempt_token } : undefined;
      const artifact = await coordinator.getArtifact(who, req.artifact_id, attempt);
      return { data: artifact.data, kind: artifact.kind };
    }),
    PutArtifactStream: artifactStreams.put,
    GetArtifactStream: artifactStreams.get,
    GetArtifactUploadStatus: unary('WorkerService.GetArtifactUploadStatus', async (req, who) =>
      artifactStreams.status(req, who),
    ),
  };

  server.addService(proto.trellis.v1.ExperimentService.service, experiments);
  server.addService(proto.trellis.v1.WorkerService.service, workers);

  const health = new HealthImplementation({
    '': 'NOT_SERVING',
    'trellis.v1.ExperimentService': 'NOT_SERVING',
    'trellis.v1.WorkerService': 'NOT_SERVING',
  });
  health.addToServer(server);
  const setHealth = (status: 'SERVING' | 'NOT_SERVING'): void => {
    for (const name of ['', 'trellis.v1.ExperimentService', 'trellis.v1.WorkerService']) health.setStatus(name, status);
  };
  setHealth(coordinator.status === 'running' ? 'SERVING' : 'NOT_SERVING');
  coordinator.onStateChange((state) => setHealth(state === 'running' ? 'SERVING' : 'NOT_SERVING'));
  addReflection(
    server,
    options.auth ? (metadata) => admit(options.auth, metadata, REFLECTION_METHOD, audit) : undefined,
  );

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const host = listen.slice(0, listen.lastIndexOf(':')) || '127.0.0.1';
  let closing: Promise<void> | undefined;
  return {
    address: `${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    port,
    flow: callers.stats,
    close: (graceMs = 2000) =>
      (closing ??= new Promise<void>((resolve) => {
        setHealth('NOT_SERVING');
        // Partial uploads die with the server (a new one starts with an empty staging area).
        artifactStreams.close().catch((err: unknown) => log.warn({ err }, 'staging area not removed'));
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      })),
  };
}
