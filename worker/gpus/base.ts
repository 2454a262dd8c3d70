/**
 * GPU probes: how a worker learns its GPUs' memory and what each process uses of it. One file
 * per implementation (nvidia-smi.ts, fake.ts), chosen in registry.ts; all pass the conformance
 * suite (test/unit/gpu-probes.test.ts).
 */

/** One GPU as measured now, bytes. */
export interface GpuReading {
  id: string;
  name: string;
  totalBytes: number;
  usedBytes: number;
}

export interface GpuProbe {
  readonly name: string;
  /** Every GPU of the machine, now; [] when there is none or the probe cannot run. Never throws. */
  inventory(): Promise<GpuReading[]>;
  /** pid → GPU memory the process uses now, bytes, summed over GPUs; empty when unknown. Never throws. */
  processes(): Promise<Map<number, number>>;
}
