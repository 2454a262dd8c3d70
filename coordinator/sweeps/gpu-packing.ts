/**
 * GPU memory per attempt of one sweep: the share each attempt asks the dispatcher for
 * (coordinator/dispatch/gpu-placement.ts), declared or learned.
 *
 * - `resources.gpuMemory` declared: every attempt asks for that share (on max(1, gpus) GPUs).
 * - Otherwise, with `gpus` >= 1 and `gpuPacking: measure` (the default): trials fall into
 *   configuration families (the values of the `resources.gpuFamily` params; default those whose
 *   name contains model, arch, batch, width, depth, layers, hidden or size). A family's attempts
 *   run on whole GPUs until one of them succeeds with a measured peak (the worker's
 *   peak_gpu_memory_bytes, per GPU); later attempts of the family ask for a share of
 *   peak x (1 + MARGIN) + PAD, so several pack onto one GPU.
 * - An `oom` of an attempt that ran on a learned share raises its family's share x OOM_GROWTH
 *   (a family whose share would reach the whole GPU it ran on goes back to whole GPUs); with
 *   `budget.retry.oom.then: more gpu memory`, the oom'd trial's own next attempt also asks
 *   x OOM_GROWTH (declared shares too).
 * Learned shares live in the coordinator's memory: after a restart families are measured again.
 */
import { memoryBytes } from '../../shared/limits.js';
import type { FailureKind } from '../../shared/failure-kinds.js';
import type { Params } from '../../shared/spec/space.js';
import type { SweepSpec } from '../../shared/spec/schema.js';
import type { AttemptDoc } from '../../shared/types.js';
import type { Hold, SlotRequest } from '../dispatch/slots.js';

/** Safety margin on a measured peak: x(1 + MARGIN) + PAD bytes (README "GPU packing"). */
export const MARGIN = 0.1;
export const PAD = 512 * 2 ** 20;
/** What an oom multiplies a share by. */
export const OOM_GROWTH = 1.5;
/** Param names that make a family by default (any that matches, case-insensitive). */
export const DEFAULT_FAMILY = /model|arch|batch|width|depth|layers|hidden|size/i;

/** The family of a trial: the values of its family params, as a stable key. */
export function familyKey(params: Params, names: readonly string[] | undefined): string {
  const keys = (names ? [...names] : Object.keys(params).filter((k) => DEFAULT_FAMILY.test(k))).sort();
  return JSON.stringify(keys.map((k) => [k, params[k] ?? null]));
}

/** The share a measured per-GPU peak asks for. */
export function shareOf(peakBytes: number): number {
  return Math.ceil(peakBytes * (1 + MARGIN) + PAD);
}

interface Placed {
  trialNumber: number;
  family: string;
  /** The share it asked for (0: whole GPUs), and whether it was learned (not declared). */
  share: number;
  learned: boolean;
  gpus: number;
  /** Total memory of the GPU it got (0: unknown). */
  gpuTotal: number;
  peak: number;
}

export class GpuPacking {
  private readonly declared: number;
  private readonly measure: boolean;
  /** family → learned share per GPU (bytes); 'whole' after an oom reached a whole GPU. */
  private readonly families = new Map<string, number | 'whole'>();
  private readonly placed = new Map<string, Placed>();
  /** trial number → multiplier of its next attempt's share (`then: more gpu memory`). */
  private readonly boost = new Map<number, number>();

  constructor(
    private readonly spec: SweepSpec,
    private readonly base: SlotRequest,
    private readonly group: string,
  ) {
    const r = spec.resources;
    this.declared = memoryBytes(r.gpuMemory);
    this.measure = this.declared === 0 && r.gpus >= 1 && r.gpuPacking !== 'off';
  }

  /** The slot request of the next attempt of the trial with `number` and `params`. */
  requestFor(number: number, params: Params): SlotRequest {
    const boost = this.boost.get(number) ?? 1;
    let share = this.declared;
    if (this.measure) {
      const learned = this.families.get(familyKey(params, this.spec.resources.gpuFamily));
      share = typeof learned === 'number' ? learned : 0;
    }
    share = share > 0 ? Math.ceil(share * boost) : 0;
    return { ...this.base, group: this.group, ...(share > 0 ? { gpuMemoryBytes: share } : {}) };
  }

  /** The attempt was placed with `request` on GPUs whose total memory is `gpuTotal` (0: unknown). */
  onPlaced(attempt: AttemptDoc, trialNumber: number, params: Params, request: SlotRequest, gpuTotal: number): void {
    this.placed.set(attempt.id, {
      trialNumber,
      family: familyKey(params, this.spec.resources.gpuFamily),
      share: request.gpuMemoryBytes ?? 0,
      learned: this.measure,
      gpus: Math.max(1, attempt.gpuIds?.length ?? 0),
      gpuTotal,
      peak: 0,
    });
  }

  /** The peak GPU memory of the attempt's processes (summed over its GPUs), from its worker. */
  peak(attemptId: string, bytes: number): void {
    const placed = this.placed.get(attemptId);
    if (placed && bytes > 0) placed.peak = Math.max(placed.peak, bytes);
  }

  /**
   * The attempt ended: a success with a measured peak teaches its family (the largest peak seen
   * wins); an oom grows the family's learned share and, with `more`, the trial's next request.
   * Returns a note for the log, or undefined.
   */
  ended(attemptId: string, succeeded: boolean, kind: FailureKind | undefined, more: boolean): string | undefined {
    const placed = this.placed.get(attemptId);
    this.placed.delete(attemptId);
    if (!placed) return undefined;
    if (succeeded) {
      this.boost.delete(placed.trialNumber);
      if (!this.measure || placed.peak <= 0) return undefined;
      const learned = shareOf(placed.peak / placed.gpus);
      const known = this.families.get(placed.family);
      if (known === 'whole' || (typeof known === 'number' && known >= learned)) return undefined;
      this.families.set(placed.family, learned);
      return `family ${placed.family}: peak ${placed.peak / placed.gpus} bytes per GPU; later attempts ask for ${learned}`;
    }
    if (kind !== 'oom') return undefined;
    const notes: string[] = [];
    if (placed.learned && placed.share > 0) {
      const grown = Math.ceil(placed.share * OOM_GROWTH);
      const whole = placed.gpuTotal > 0 && grown >= placed.gpuTotal;
      this.families.set(placed.family, whole ? 'whole' : grown);
      notes.push(`oom under packing: family ${placed.family} now asks for ${whole ? 'whole GPUs' : `${grown} bytes`}`);
    }
    if (more && placed.share > 0) {
      const next = (this.boost.get(placed.trialNumber) ?? 1) * OOM_GROWTH;
      this.boost.set(placed.trialNumber, next);
      notes.push(`trial ${placed.trialNumber}: next attempt asks for x${next} GPU memory`);
    }
    return notes.length > 0 ? notes.join('; ') : undefined;
  }

  /** What a running attempt holds (to rebuild it when its worker reconnects). */
  holdOf(attempt: AttemptDoc | undefined): Hold {
    const share = attempt?.gpuMemoryBytes ?? 0;
    return {
      cpus: this.base.cpus,
      memoryBytes: this.base.memoryBytes,
      gpuIds: attempt?.gpuIds ?? [],
      ...(share > 0 ? { gpuMemoryBytes: share } : {}),
      group: this.group,
    };
  }
}
