/**
 * The replica count KEDA asks for when it scales GPU workers on the coordinator's
 * `trellis_slots_demanded{resource="gpu"}` (deploy/helm/trellis/templates/keda.yaml): a
 * Prometheus trigger with `metricType: AverageValue`, `threshold: gpusPerWorker` and
 * `activationThreshold: 0`, which the Horizontal Pod Autoscaler turns into
 * `ceil(metric / threshold)` (kept as is within the HPA's 10% tolerance), clamped to
 * [minReplicas, maxReplicas], with the largest recommendation of the scale-down stabilization
 * window. Pure: the simulation test feeds it a real sweep's series and checks that the workers
 * it keeps never fall below the running attempts.
 */

export interface ScalingConfig {
  gpusPerWorker: number;
  minReplicas: number;
  maxReplicas: number;
  /** HPA tolerance (default 0.1): no change while |metric / (replicas × threshold) − 1| ≤ it. */
  tolerance?: number;
  /** Scale-down stabilization window in ms (HPA default 300 s; 0 = the worst case for scale-down). */
  stabilizationMs?: number;
}

export interface ScalingSample {
  /** Epoch or relative ms. */
  time: number;
  /** The metric the trigger reads. */
  value: number;
}

/** One HPA step: the replicas asked for now, given the metric and the current replicas. */
export function desiredReplicas(value: number, current: number, config: ScalingConfig): number {
  const tolerance = config.tolerance ?? 0.1;
  let desired: number;
  if (value <= 0) {
    desired = 0; // KEDA deactivates the trigger at activationThreshold 0: down to minReplicas
  } else if (current > 0 && Math.abs(value / (current * config.gpusPerWorker) - 1) <= tolerance) {
    desired = current;
  } else {
    desired = Math.ceil(value / config.gpusPerWorker);
  }
  return Math.min(config.maxReplicas, Math.max(config.minReplicas, desired));
}

/**
 * Replays a metric series through the autoscaler: the replica count after each sample, with
 * scale-down held at the largest recommendation of the stabilization window.
 */
export function simulateScaling(series: readonly ScalingSample[], config: ScalingConfig, initial = 0): number[] {
  const windowMs = config.stabilizationMs ?? 0;
  const recommendations: { time: number; replicas: number }[] = [];
  const out: number[] = [];
  let current = initial;
  for (const sample of series) {
    const recommended = desiredReplicas(sample.value, current, config);
    recommendations.push({ time: sample.time, replicas: recommended });
    while (recommendations.length > 0 && recommendations[0]!.time < sample.time - windowMs) recommendations.shift();
    const held = Math.max(...recommendations.map((r) => r.replicas));
    current = recommended >= current ? recommended : Math.min(current, held);
    out.push(current);
  }
  return out;
}
