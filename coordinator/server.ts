/**
 * The coordinator's gRPC server: ExperimentService and WorkerService adapted onto the
 * Coordinator, plus the standard health service (NOT_SERVING until the store and bus are up,
 * and again while closing) and server reflection (so grpcurl works).
 *
 * Every ExperimentService and WorkerService handler goes through `admit` (auth/guard.ts) first:
 * authentication and the role table live there, nowhere else. ExperimentService's handlers are
 * in experiment-service.ts: specs leave through `redactEnv` (shared/redact.ts), events too.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { loadProto, type WorkerServiceHandlers } from '../shared/proto.js';
import { ResourceExhaustedError, toGrpcError } from '../shared/errors.js';
import type { Coordinator } from './coordinator.js';
import { addReflection, REFLECTION_METHOD } from './reflection.js';
import type { WorkerMessage__Output } from '../shared/generated/trellis/v1/WorkerMessage.js';
import { admit } from './auth/guard.js';
import type { AuditRecord } from './auth/audit.js';
import type { Identity } from './auth/policy.js';
import { stepFromWire } from '../shared/steps.js';
import type { Authenticator } from './auth/tokens.js';
import { Callers, peerHost, type FlowStats } from './flow/callers.js';
import { flowLimitsFromEnv, type FlowLimits } from './flow/limits.js';
import { UploadGuard } from './flow/uploads.js';
import { MessageGuard } from './flow/messages.js';
import { ArtifactStreams, MAX_CHUNK_BYTES } from './artifacts/streams.js';
import { PauseHolds, Slices, slicedReader } from './flow/slices.js';
import { pacedReader } from './flow/reports.js';
import { experimentService } from './experiment-service.js';

export { watchStart } from './experiment-service.js';

/** Replies queued on a worker stream that is not read before the worker is disconnected. */
const WORKER_BACKLOG = 1000;
import { certificateName, serverCredentials, type ServerTls } from './auth/tls.js';

export interface ServerOptions {
  /** Who may call what; absent: no authentication (every caller is an anonymous admin). */
  auth?: Authenticator;
  /** Back-pressure and fairness bounds (default: from the environment, coordinator/flow/limits.ts). */
  limits?: FlowLimits;
  /** Serve TLS (and, with clientCa, identify workers by certificate); absent: plaintext. */
  tls?: ServerTls;
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
  // A request must fit a spec of the largest size allowed (as a Struct it is bigger than as text)
  // and a streamed artifact's largest chunk.
  const messages = new MessageGuard(
    {
      messageMaxBytes: Math.max(
        limits.messageMaxBytes,
        4 * coordinator.limits.maxSpecBytes + 64 * 1024,
        MAX_CHUNK_BYTES + 64 * 1024,
      ),
      workerMessageMaxBytes: limits.workerMessageMaxBytes,
    },
    uploads,
    callers,
    log,
  );
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
    // Every message is bounded before this applies: uploads by the upload guard (flow/uploads.ts),
    // the rest by the message guard (flow/messages.ts), from their frame headers.
    'grpc.max_receive_message_length': Math.max(256 * 1024 * 1024, limits.uploadMaxBytes + 64 * 1024),
    'grpc.max_send_message_length': 256 * 1024 * 1024,
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    interceptors: [messages.interceptor],
  });

  // Worker messages of every stream, handled in slices of the event loop (flow/slices.ts).
  const slices = new Slices();
  const experiments = experimentService(coordinator, { unary, gate, callerOf, callers, log });

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
            if (ended) return false;
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
              return false;
            }
            return true;
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
      // Messages are handled in the server's slices (flow/slices.ts), in order, the close last.
      // Each worker stream reads at most `reportsPerSecond` messages (bursts of twice that);
      // past that the stream is paused, so HTTP/2 flow control slows the sender: nothing is dropped.
      const pauses = new PauseHolds(call);
      const paced = pacedReader(
        { pause: () => pauses.hold('rate'), resume: () => pauses.release('rate'), getPeer: () => call.getPeer() },
        limits.reportsPerSecond,
        callers.stats,
        log,
        (message: WorkerMessage__Output) => connection.onMessage(message),
      );
      const reader = slicedReader(slices, pauses, paced, () => connection.onClose());
      call.on('data', reader.data);
      const closed = (): void => {
        release();
        if (ended) return;
        ended = true;
        reader.close();
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
