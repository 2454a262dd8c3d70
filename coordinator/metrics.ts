/**
 * The coordinator's Prometheus metrics (prom-client, one private registry per coordinator),
 * served by shared/metrics-http.ts when `--metrics-listen` is given. They are read from what the
 * coordinator already has — the event log, the dispatcher, the store — plus one observer call
 * per ended attempt, so the hooks in the coordinator stay few:
 *
 *   trellis_trials{status}                 trials by status (gauge)
 *   trellis_attempts_total{outcome}        ended attempts by outcome (counter)
 *   trellis_slots_demanded{resource}       slots asked for by pending + running attempts (gauge; cpu, gpu)
 *   trellis_workers{state}                 workers by state (gauge; connected, draining, disconnected)
 *   trellis_metric_reports_total           metric reports stored (counter)
 *   trellis_dispatch_latency_seconds       how long an attempt waited for a worker slot (histogram)
 *   trellis_store_op_seconds{op}           store calls by method (histogram)
 *
 * `trellis_slots_demanded` is the autoscaling signal (deploy/helm/trellis, KEDA): it counts
 * running attempts as well as pending ones, so scaling on it never removes a worker that runs one.
 * Never a trial or experiment id as a label (unbounded cardinality).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Coordinator } from './coordinator.js';
import type { CoordinatorObserver } from './observer.js';
import type { Store } from './store/base.js';
import {
  ATTEMPT_STATUSES,
  TRIAL_STATUSES,
  isTerminal,
  type AttemptStatus,
  type TrialStatus,
} from '../shared/states.js';

/** Ended trial ids remembered to ignore late events about them. */
export const RECENTLY_ENDED = 10_000;

export class CoordinatorMetrics implements CoordinatorObserver {
  readonly registry = new Registry();
  private coordinator: Coordinator | undefined;
  private readonly attempts: Counter<'outcome'>;
  private readonly metricReports: Counter;
  private readonly dispatchLatency: Histogram;
  private readonly storeOps: Histogram<'op'>;
  /**
   * Last known status of each trial not yet ended; ended trials are only counted by status, so a
   * long-lived coordinator holds O(running trials) here. The most recently ended ids are kept so
   * that an older event arriving late cannot move one back.
   */
  private readonly trials = new Map<string, TrialStatus>();
  private readonly endedCounts = new Map<TrialStatus, number>();
  private readonly recentlyEnded = new Set<string>();
  private readonly detach: (() => void)[] = [];

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'trellis_trials',
      help: 'Trials by status (trials of experiments this coordinator has run since it started)',
      labelNames: ['status'] as const,
      registers,
      collect: () => {
        const counts = new Map<TrialStatus, number>(TRIAL_STATUSES.map((s) => [s, 0]));
        for (const [status, n] of this.endedCounts) counts.set(status, n);
        for (const status of this.trials.values()) counts.set(status, (counts.get(status) ?? 0) + 1);
        const gauge = this.registry.getSingleMetric('trellis_trials') as Gauge<'status'>;
        for (const [status, n] of counts) gauge.set({ status }, n);
      },
    });
    this.attempts = new Counter({
      name: 'trellis_attempts_total',
      help: 'Attempts ended, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    });
    for (const outcome of ATTEMPT_STATUSES) if (outcome !== 'running') this.attempts.inc({ outcome }, 0);
    new Gauge({
      name: 'trellis_slots_demanded',
      help: 'Slots asked for by pending and running attempts, by resource (cpu, gpu): the autoscaling signal',
      labelNames: ['resource'] as const,
      registers,
      collect: () => {
        const demand = this.coordinator?.dispatcher.demand() ?? { cpu: 0, gpu: 0 };
        const gauge = this.registry.getSingleMetric('trellis_slots_demanded') as Gauge<'resource'>;
        gauge.set({ resource: 'cpu' }, demand.cpu);
        gauge.set({ resource: 'gpu' }, demand.gpu);
      },
    });
    new Gauge({
      name: 'trellis_workers',
      help: 'Workers by state (connected: accepting work; draining; disconnected since the coordinator started)',
      labelNames: ['state'] as const,
      registers,
      collect: () => {
        const counts = this.coordinator?.dispatcher.workerCounts() ?? { connected: 0, draining: 0, disconnected: 0 };
        const gauge = this.registry.getSingleMetric('trellis_workers') as Gauge<'state'>;
        for (const [state, n] of Object.entries(counts)) gauge.set({ state }, n);
      },
    });
    this.metricReports = new Counter({
      name: 'trellis_metric_reports_total',
      help: 'Metric reports (one per trial step) stored and published',
      registers,
    });
    this.dispatchLatency = new Histogram({
      name: 'trellis_dispatch_latency_seconds',
      help: 'Time an attempt waited for a worker slot',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    this.storeOps = new Histogram({
      name: 'trellis_store_op_seconds',
      help: 'Duration of store calls, by method',
      labelNames: ['op'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    });
  }

  /** The store with each call timed into trellis_store_op_seconds; give it to the Coordinator. */
  timeStore(store: Store): Store {
    const histogram = this.storeOps;
    return new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const op = String(property);
        return (...args: unknown[]) => {
          const end = histogram.startTimer({ op });
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) return result.finally(() => end());
          end();
          return result;
        };
      },
    });
  }

  /** Starts reading the coordinator's events and dispatcher. Returns a detach function. */
  attach(coordinator: Coordinator): () => void {
    this.coordinator = coordinator;
    this.detach.push(
      coordinator.events.onStored((event) => {
        if (event.type === 'trial.metric') this.metricReports.inc();
        else if (event.type === 'trial.state' && event.trialId) {
          this.trialStatus(event.trialId, event.payload.status as TrialStatus);
        }
      }),
      coordinator.dispatcher.onPlaced((waitedMs) => this.dispatchLatency.observe(waitedMs / 1000)),
    );
    return () => {
      for (const off of this.detach.splice(0)) off();
      this.coordinator = undefined;
    };
  }

  /**
   * Counts the trials of the experiments the coordinator resumed at start (their next state
   * event would otherwise be the first the metrics hear of them). Call after `start()`.
   */
  async seed(store: Store): Promise<void> {
    for (const experiment of await store.listExperiments({ status: ['pending', 'running'] })) {
      for (const trial of await store.listTrials(experiment.id)) {
        if (!this.trials.has(trial.id) && !this.recentlyEnded.has(trial.id)) this.trialStatus(trial.id, trial.status);
      }
    }
  }

  attemptEnded(status: AttemptStatus): void {
    this.attempts.inc({ outcome: status });
  }

  private trialStatus(trialId: string, status: TrialStatus): void {
    // A terminal status is final: a re-published older event must not move the trial back.
    if (!TRIAL_STATUSES.includes(status) || this.recentlyEnded.has(trialId)) return;
    if (!isTerminal('trial', status)) {
      this.trials.set(trialId, status);
      return;
    }
    this.trials.delete(trialId);
    this.endedCounts.set(status, (this.endedCounts.get(status) ?? 0) + 1);
    this.recentlyEnded.add(trialId);
    if (this.recentlyEnded.size > RECENTLY_ENDED) {
      const oldest = this.recentlyEnded.values().next().value;
      if (oldest !== undefined) this.recentlyEnded.delete(oldest);
    }
  }

  /** Entries held per trial: trials not yet ended, recently ended ids (for the bound's test). */
  get sizes(): { live: number; recentlyEnded: number } {
    return { live: this.trials.size, recentlyEnded: this.recentlyEnded.size };
  }
}
