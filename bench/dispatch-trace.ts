/**
 * Where the time goes between one program's exit and the next program's start on the same
 * lane, from the dispatch trace (shared/dispatch-trace.ts): the coordinator's stamps (taken in
 * this process) joined with each worker's, which come back in the results' info as `trace`.
 *
 * A lane of a sweep runs its trials one after another; for two consecutive attempts A and B of
 * a lane, the stages in order are
 *   worker A: exited → closed (output read) → result_sent
 *   coordinator A: result_received → settled (outcome stored)
 *   coordinator B: trial_asked → trial_ready (trial created and stored) → slot → claimed → sent
 *   worker B: assigned → workspace (temp dir made) → spawn_asked → spawned
 * and `exit_to_spawn` = B.spawned − A.exited is the slot's idle time between two programs.
 *
 * With prefetch (budget.prefetch) B was queued on A's worker behind A and starts there when A's
 * program exits: the pairs are B and the attempt it followed (on B's worker, the latest whose
 * `exited` is at or before B's `started`: both happen in one synchronous step there), and the
 * stages are A.exited → B.started → B.spawn_asked → B.spawned (`prefetch`; B's workspace was
 * made while A ran); B's that found A already ended and started at once are counted apart.
 */
import type { Coordinator } from '../coordinator/coordinator.js';
import { dispatchTrace } from '../shared/dispatch-trace.js';
import { median, percentile, round } from './common.js';

/** Consecutive stages: [label, attempt (A: the one that ended, B: the next), stage]. */
const PATH: ReadonlyArray<readonly [string, 'A' | 'B', string]> = [
  ['A.exited', 'A', 'exited'],
  ['A.closed', 'A', 'closed'],
  ['A.result_sent', 'A', 'result_sent'],
  ['A.result_received', 'A', 'result_received'],
  ['A.settled', 'A', 'settled'],
  ['B.trial_asked', 'B', 'trial_asked'],
  ['B.trial_ready', 'B', 'trial_ready'],
  ['B.slot', 'B', 'slot'],
  ['B.claimed', 'B', 'claimed'],
  ['B.sent', 'B', 'sent'],
  ['B.assigned', 'B', 'assigned'],
  ['B.workspace', 'B', 'workspace'],
  ['B.spawn_asked', 'B', 'spawn_asked'],
  ['B.spawned', 'B', 'spawned'],
];

/**
 * The path of a prefetched pair: B was held on A's worker and started when A's program exited
 * (its slot released; A's output, result and clean-up go on beside B's start).
 */
const PREFETCH_PATH: ReadonlyArray<readonly [string, 'A' | 'B', string]> = [
  ['A.exited', 'A', 'exited'],
  ['B.started', 'B', 'started'],
  ['B.spawn_asked', 'B', 'spawn_asked'],
  ['B.spawned', 'B', 'spawned'],
];

type Stamps = Record<string, number>;

/** Each step's durations and the whole path's, over `pairs`. */
function stepsOf(
  path: typeof PATH,
  pairs: { A: Stamps; B: Stamps }[],
): { pairs: number; exit_to_spawn: Record<string, number> | null; steps: Record<string, Record<string, number>> } {
  const steps = new Map<string, number[]>();
  const gaps: number[] = [];
  let counted = 0;
  for (const pair of pairs) {
    const times = path.map(([, who, stage]) => pair[who][stage]);
    if (times.some((t) => t === undefined)) continue;
    counted++;
    for (let k = 1; k < path.length; k++) {
      const label = `${path[k - 1]![0]} → ${path[k]![0]}`;
      const list = steps.get(label) ?? [];
      list.push(times[k]! - times[k - 1]!);
      steps.set(label, list);
    }
    gaps.push(times[times.length - 1]! - times[0]!);
  }
  return {
    pairs: counted,
    exit_to_spawn: counted > 0 ? summary(gaps) : null,
    steps: Object.fromEntries([...steps].map(([label, values]) => [label, summary(values)])),
  };
}

/**
 * Prefetched pairs: each queued B with the attempt on its worker whose exit started it, the
 * latest to exit there at or before B's start (B starts in the same synchronous step).
 */
function prefetchPairs(all: (Stamps & { workerId?: string })[]): { A: Stamps; B: Stamps }[] {
  const pairs: { A: Stamps; B: Stamps }[] = [];
  for (const B of all) {
    if (B.queued === undefined || B.started === undefined) continue;
    let A: Stamps | undefined;
    for (const s of all) {
      if (s === B || s.workerId !== B.workerId || s.exited === undefined || s.exited > B.started) continue;
      if (!A || s.exited > A.exited!) A = s;
    }
    if (A) pairs.push({ A, B });
  }
  return pairs;
}

function summary(values: number[]): Record<string, number> {
  return {
    p50_ms: round(median(values)),
    p90_ms: round(percentile(values, 0.9)),
    max_ms: round(Math.max(...values)),
  };
}

/** Forgets what the trace holds (before a traced run). */
export function resetTrace(): void {
  dispatchTrace.takeAll();
}

/**
 * The breakdown of one experiment's traced run: each step's p50/p90/max over every pair of
 * consecutive attempts of a lane, and, given the run's start and end stamps, the head (start →
 * first program spawned) and the tail (last program's exit → end).
 */
export async function traceBreakdown(
  coordinator: Coordinator,
  experimentId: string,
  run?: { start: number; end: number },
): Promise<Record<string, unknown>> {
  const coordinatorSide = dispatchTrace.takeAll();
  const trials = await coordinator.store.listTrials(experimentId);
  const byLane = new Map<number, Stamps[]>();
  const withWorker: (Stamps & { workerId?: string })[] = [];
  for (const trial of trials) {
    for (const attempt of trial.attempts) {
      const worker = attempt.status === 'succeeded' ? (trial.info?.trace as Stamps | undefined) : undefined;
      const mine = coordinatorSide.get(attempt.id);
      if (!worker || !mine || mine.lane === undefined) continue;
      const stamps = { ...worker, ...mine };
      withWorker.push(Object.assign({ workerId: attempt.workerId }, stamps));
      const lane = byLane.get(mine.lane) ?? [];
      lane.push(stamps);
      byLane.set(mine.lane, lane);
    }
  }
  const lanePairs: { A: Stamps; B: Stamps }[] = [];
  for (const lane of byLane.values()) {
    lane.sort((x, y) => (x.sent ?? 0) - (y.sent ?? 0));
    for (let i = 1; i < lane.length; i++) lanePairs.push({ A: lane[i - 1]!, B: lane[i]! });
  }
  const all = [...byLane.values()].flat();
  const queued = all.filter((s) => s.queued !== undefined).length;
  // A prefetching run's lanes alternate between slots: its pairs are the queued attempts and their hosts.
  const result: Record<string, unknown> =
    queued > 0
      ? { ...stepsOf(PREFETCH_PATH, prefetchPairs(withWorker)), queued, started_at_once: all.length - queued }
      : stepsOf(PATH, lanePairs);
  if (run && all.length > 0) {
    const spawned = all.map((s) => s.spawned).filter((t): t is number => t !== undefined);
    const exited = all.map((s) => s.exited).filter((t): t is number => t !== undefined);
    const firstSpawn = Math.min(...spawned);
    const lastExit = Math.max(...exited);
    result.head_ms = round(firstSpawn - run.start);
    result.tail_ms = round(run.end - lastExit);
    result.programs_ms = round(lastExit - firstSpawn);
  }
  return result;
}
