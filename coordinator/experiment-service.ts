/**
 * ExperimentService's handlers, adapted onto the Coordinator: submit, read, page through,
 * cancel, drain, export and watch. Admission and the error mapping come from the server
 * (`CallTools`); what leaves goes through the views here (trial.env redacted, shared/redact.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ExperimentServiceHandlers } from '../shared/proto.js';
import { InvalidArgumentError, toGrpcError } from '../shared/errors.js';
import { eventToProto, experimentToProto, statusFromEnum, trialToProto } from '../shared/convert.js';
import { fromStruct } from '../shared/struct.js';
import { answer, decodeToken, isExperimentKey, isTrialKey, pageSize } from './paging.js';
import { exportKeyOf, exportPage, isExportKey } from './export-pages.js';
import type { ExperimentKey } from './store/base.js';
import { workerToProto } from './workers-view.js';
import type { Coordinator } from './coordinator.js';
import type { ExperimentStatus } from '../shared/states.js';
import type { ExperimentDoc } from '../shared/types.js';
import type { TrellisEvent } from '../shared/events.js';
import type { AuditRecord } from './auth/audit.js';
import { assertOwner, type Identity } from './auth/policy.js';
import { redactEnv } from '../shared/redact.js';
import { stepOnWire } from '../shared/steps.js';
import type { Callers } from './flow/callers.js';
import { serveWatch } from './flow/watch.js';
import type { AttemptLogView } from './attempt-logs.js';
import type { AttemptLog } from '../shared/generated/trellis/v1/AttemptLog.js';

/** What the server (server.ts) lends the handlers: admission, callers' budgets, the unary wrapper. */
export interface CallTools {
  /** Wraps an async unary handler: admission, then every error through the one mapping (audited). */
  unary: <Req, Res>(
    method: string,
    fn: (request: Req, who: Identity, record: (fields: Partial<AuditRecord>) => void) => Promise<Res>,
  ) => grpc.handleUnaryCall<Req, Res>;
  /** admit (auth/guard.ts) with what the transport knows of the caller. */
  gate: (
    call: {
      metadata: grpc.Metadata;
      getPeer(): string;
      getAuthContext?: () => { sslPeerCertificate?: { subject?: Record<string, unknown> } };
    },
    method: string,
  ) => Identity;
  /** Whose budget a call spends. */
  callerOf: (who: Identity, call: { getPeer(): string }) => string;
  callers: Callers;
  log: Logger;
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

export function experimentService(coordinator: Coordinator, tools: CallTools): ExperimentServiceHandlers {
  const { unary, gate, callerOf, callers, log } = tools;
  return {
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
      const paging = { defaultSize: 500, maxSize: 10_000, what: 'experiments' };
      const read = await coordinator.experimentsPage({
        ...(statuses.length > 0 ? { status: statuses as ExperimentStatus[] } : {}),
        ...(req.page_token ? { after: decodeToken(paging.what, req.page_token, isExperimentKey) } : {}),
        limit: pageSize(req, paging),
        spec: req.include_spec ? 'full' : 'none',
      });
      const { page, next_page_token } = answer(
        read,
        paging.what,
        req.include_spec
          ? (doc) => visible(doc as ExperimentDoc)
          : (doc) => ({ ...experimentToProto({ ...doc, spec: {} } as ExperimentDoc), spec_json: '', spec: null }),
        (doc): ExperimentKey => ({ createdAt: doc.createdAt, id: doc.id }),
      );
      return { experiments: page, next_page_token };
    }),
    ListTrials: unary('ExperimentService.ListTrials', async (req) => {
      const paging = { defaultSize: 1000, maxSize: 10_000, what: `trials of ${req.experiment_id}` };
      const limit = pageSize(req, paging);
      const after = req.page_token ? decodeToken(paging.what, req.page_token, isTrialKey).n : undefined;
      await coordinator.get(req.experiment_id);
      const read = await coordinator.store.listTrialsPage(req.experiment_id, {
        ...(after === undefined ? {} : { afterNumber: after }),
        limit,
      });
      const { page, next_page_token } = answer(read, paging.what, trialToProto, (t) => ({ n: t.number }));
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
      const paging = { defaultSize: 10_000, maxSize: 100_000, what: `metrics of ${req.experiment_id}` };
      const limit = pageSize(req, paging);
      const from = req.page_token ? decodeToken(paging.what, req.page_token, isExportKey) : undefined;
      await coordinator.get(req.experiment_id);
      const { page, next_page_token } = answer(
        await exportPage(coordinator.store, req.experiment_id, from, limit),
        paging.what,
        (m) => ({
          trial_id: m.trialId,
          trial_number: m.trialNumber,
          attempt: m.attempt,
          ...stepOnWire(m.step),
          time_ms: String(m.time),
          values: m.values,
        }),
        exportKeyOf,
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
}
