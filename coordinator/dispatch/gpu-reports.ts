/**
 * What workers report about their GPUs' memory, read for the dispatcher: totals from the hello
 * (Gpu.memory_bytes), use from heartbeats (Heartbeat.gpu_memory), peaks from attempt outcomes
 * (peak_gpu_memory_bytes). Bad numbers (negative, not finite, beyond 2^53) read as unknown (0).
 */
import type { Gpu__Output } from '../../shared/generated/trellis/v1/Gpu.js';
import type { GpuMemory__Output } from '../../shared/generated/trellis/v1/GpuMemory.js';

/** An int64 from the wire as bytes; 0 when it is not a sane byte count. */
export function bytesOf(value: string | number | undefined): number {
  const n = Number(value ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** GPU id → total memory from a hello's GPUs (only those with a known size). */
export function gpuTotalsOf(gpus: readonly Gpu__Output[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const gpu of gpus) {
    const bytes = bytesOf(gpu.memory_bytes);
    if (bytes > 0) totals[gpu.id] = bytes;
  }
  return totals;
}

/** GPU id → memory in use from a heartbeat, for the GPUs the worker advertised; undefined when it sent none. */
export function gpuUsedOf(
  readings: readonly GpuMemory__Output[],
  advertised: readonly string[],
): Record<string, number> | undefined {
  if (readings.length === 0) return undefined;
  const used: Record<string, number> = {};
  for (const reading of readings) if (advertised.includes(reading.id)) used[reading.id] = bytesOf(reading.used_bytes);
  return used;
}
