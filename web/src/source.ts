/**
 * Where a page reads from: the coordinator's HTTP API (live, with event streams) or a snapshot
 * embedded in a static report (no server, nothing live).
 */
import {
  toDashTrial,
  type DashCurves,
  type DashLog,
  type DashExperiment,
  type DashSnapshot,
  type DashTrial,
  type DashTrialDetail,
  type DashWorker,
} from '../../shared/dashboard.js';
import type { TrellisEvent } from '../../shared/events.js';
import { decodeCurves } from '../../shared/curves-codec.js';

export interface ExperimentPage {
  experiment: DashExperiment;
  trials: DashTrial[];
  seq: number;
  children?: { experiment: DashExperiment; trials: DashTrial[] }[];
}

/** Who the dashboard is talking as (GET /api/session). */
export interface Session {
  name: string;
  role: string;
  signedIn: boolean;
  canCancel: boolean;
}

/** The API answered 401: the page shows the sign-in form. */
export class SignInNeeded extends Error {}

export interface Source {
  readonly live: boolean;
  session(): Promise<Session>;
  signIn(token: string): Promise<Session>;
  signOut(): Promise<void>;
  cancel(id: string): Promise<void>;
  experiments(status: string, name: string): Promise<{ experiments: DashExperiment[]; truncated: boolean }>;
  experiment(id: string): Promise<ExperimentPage>;
  /** Curves of every trial; `metrics` limits the values carried (the names of all are listed). */
  curves(id: string, metrics?: string[]): Promise<DashCurves>;
  /**
   * The curves a sweep page draws first (every metric of a small sweep, the objective's of a large
   * one), asked for with the experiment rather than after it.
   */
  firstCurves(id: string): Promise<DashCurves>;
  trial(id: string): Promise<{ trial: DashTrialDetail; experiment: DashExperiment; curves: DashCurves }>;
  workers(): Promise<{ workers: DashWorker[] }>;
  /** An attempt's program output (`trellis logs`); undefined where there is none to read (a report). */
  log(trialId: string, attempt: number): Promise<DashLog | undefined>;
  /** Follows one experiment's events after `seq`; returns a function that stops following. */
  follow(id: string, seq: number, onEvent: (event: TrellisEvent) => void): () => void;
  /** Follows state changes of everything; `onReconnect` re-reads what the page shows. */
  followAll(onEvent: (event: TrellisEvent) => void, onReconnect: () => void): () => void;
}

const EVENT_TYPES = ['experiment.state', 'trial.state', 'trial.metric', 'stage.state', 'worker.state'];

async function getJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { accept: 'application/json', ...init.headers } });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (res.status === 401) throw new SignInNeeded(body.error ?? 'sign in to see this dashboard');
  if (!res.ok) throw new Error(body.error ?? `${path}: HTTP ${res.status}`);
  return body;
}

/** A write: the server wants `x-trellis: 1` (a cross-site page cannot send it). */
function writeJson<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return getJson<T>(path, {
    method,
    headers: { 'x-trellis': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

export class ApiSource implements Source {
  readonly live = true;
  session() {
    return getJson<Session>('/api/session');
  }
  signIn(token: string) {
    return writeJson<Session>('POST', '/api/session', { token });
  }
  async signOut() {
    await writeJson('DELETE', '/api/session');
  }
  async cancel(id: string) {
    await writeJson('POST', `/api/experiments/${encodeURIComponent(id)}/cancel`);
  }
  experiments(status: string, name: string) {
    const q = new URLSearchParams();
    if (status) q.set('status', status);
    if (name) q.set('name', name);
    return getJson<{ experiments: DashExperiment[]; truncated: boolean }>(`/api/experiments?${q}`);
  }
  experiment(id: string) {
    return getJson<ExperimentPage>(`/api/experiments/${encodeURIComponent(id)}`);
  }
  curves(id: string, metrics?: string[]) {
    return this.binaryCurves(id, metrics ? `&metrics=${metrics.map(encodeURIComponent).join(',')}` : '');
  }
  firstCurves(id: string) {
    return this.binaryCurves(id, '&first=1');
  }
  private async binaryCurves(id: string, q: string) {
    // Binary (shared/curves-codec.ts): a fifth of the JSON's size and no parse of every number.
    const path = `/api/experiments/${encodeURIComponent(id)}/curves?format=f32${q}`;
    const res = await fetch(path, { headers: { accept: 'application/octet-stream' } });
    if (res.status === 401) throw new SignInNeeded('sign in to see this dashboard');
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      throw new Error(body.error ?? `${path}: HTTP ${res.status}`);
    }
    const curves = decodeCurves(await res.arrayBuffer());
    const seq = Number(res.headers.get('x-trellis-seq'));
    if (Number.isInteger(seq) && seq >= 0) curves.seq = seq;
    return curves;
  }
  trial(id: string) {
    return getJson<{ trial: DashTrialDetail; experiment: DashExperiment; curves: DashCurves }>(
      `/api/trials/${encodeURIComponent(id)}`,
    );
  }
  workers() {
    return getJson<{ workers: DashWorker[] }>('/api/workers');
  }
  async log(trialId: string, attempt: number) {
    const path = `/api/trials/${encodeURIComponent(trialId)}/log?attempt=${attempt}`;
    return (await getJson<{ log: DashLog }>(path)).log;
  }
  follow(id: string, seq: number, onEvent: (event: TrellisEvent) => void): () => void {
    // EventSource resends the last id it saw as Last-Event-ID when it reconnects: the server
    // replays from there, so a dropped connection loses nothing.
    const source = new EventSource(`/api/experiments/${encodeURIComponent(id)}/events?after=${seq}`);
    const handle = (message: MessageEvent<string>): void => onEvent(JSON.parse(message.data) as TrellisEvent);
    for (const type of EVENT_TYPES) source.addEventListener(type, handle);
    source.addEventListener('end', () => source.close());
    return () => source.close();
  }
  followAll(onEvent: (event: TrellisEvent) => void, onReconnect: () => void): () => void {
    const source = new EventSource('/api/events');
    let opened = false;
    source.onopen = () => {
      if (opened) onReconnect();
      opened = true;
    };
    const handle = (message: MessageEvent<string>): void => onEvent(JSON.parse(message.data) as TrellisEvent);
    for (const type of EVENT_TYPES) source.addEventListener(type, handle);
    return () => source.close();
  }
}

export class SnapshotSource implements Source {
  readonly live = false;
  constructor(private readonly snapshot: DashSnapshot) {}
  async session() {
    return { name: '', role: 'viewer', signedIn: false, canCancel: false };
  }
  signIn(): Promise<Session> {
    throw new Error('a static report has no server to sign in to');
  }
  async signOut() {}
  cancel(): Promise<void> {
    throw new Error('a static report cannot cancel anything');
  }
  async experiments() {
    return { experiments: Object.values(this.snapshot.experiments).map((e) => e.experiment), truncated: false };
  }
  async experiment(id: string) {
    const entry = this.entry(id);
    const children = Object.values(this.snapshot.experiments)
      .filter((e) => e.experiment.parentId === id)
      .map((e) => ({ experiment: e.experiment, trials: e.trials.map(toDashTrial) }));
    const trials = entry.trials.map(toDashTrial);
    return { experiment: entry.experiment, trials, seq: 0, ...(children.length ? { children } : {}) };
  }
  async curves(id: string) {
    return this.entry(id).curves;
  }
  async firstCurves(id: string) {
    return this.entry(id).curves;
  }
  async trial(id: string) {
    for (const entry of Object.values(this.snapshot.experiments)) {
      const trial = entry.trials.find((t) => t.id === id);
      if (trial) {
        const steps = entry.curves.steps[trial.number];
        const curves = {
          metrics: entry.curves.metrics,
          steps: steps ? { [trial.number]: steps } : {},
          values: Object.fromEntries(
            Object.entries(entry.curves.values).map(([m, byTrial]) => [
              m,
              { [trial.number]: byTrial[trial.number] ?? [] },
            ]),
          ),
        };
        return { trial, experiment: entry.experiment, curves };
      }
    }
    throw new Error(`trial ${id} is not in this report`);
  }
  async workers() {
    return { workers: [] };
  }
  async log(): Promise<DashLog | undefined> {
    return undefined;
  }
  follow() {
    return () => undefined;
  }
  followAll() {
    return () => undefined;
  }
  private entry(id: string) {
    const entry = this.snapshot.experiments[id];
    if (!entry) throw new Error(`experiment ${id} is not in this report`);
    return entry;
  }
}
