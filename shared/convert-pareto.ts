/** ParetoFront documents ⇄ proto messages (shared/convert.ts uses these for Experiment.pareto). */
import type { ParetoFront as ParetoFrontProto, ParetoFront__Output } from './generated/trellis/v1/ParetoFront.js';
import type { ParetoFront } from './types.js';
import type { Params } from './spec/space.js';
import { fromStruct, toStruct, type ProtoStruct } from './struct.js';

export function paretoToProto(front: ParetoFront): ParetoFrontProto {
  return {
    metrics: front.metrics,
    modes: front.modes,
    points: front.points.map((p) => ({
      trial_id: p.trialId,
      number: p.number,
      params: toStruct(p.params),
      values: p.values,
      ci: p.ci ?? [],
      replicates: p.replicates ?? 0,
    })),
    reference: front.reference,
    reference_source: front.referenceSource,
    hypervolume: front.hypervolume,
    configurations: front.configurations,
    thinned: front.thinned ?? 0,
  };
}

export function paretoFromProto(p: ParetoFront__Output): ParetoFront {
  return {
    metrics: p.metrics,
    modes: p.modes.map((m) => (m === 'min' ? 'min' : 'max')),
    points: p.points.map((point) => ({
      trialId: point.trial_id,
      number: point.number,
      params: (point.params ? fromStruct(point.params as ProtoStruct) : {}) as Params,
      values: point.values,
      ...(point.replicates > 1 ? { ci: point.ci, replicates: point.replicates } : {}),
    })),
    reference: p.reference,
    referenceSource: p.reference_source === 'spec' ? 'spec' : 'nadir',
    hypervolume: p.hypervolume,
    configurations: p.configurations,
    ...(p.thinned > 0 ? { thinned: p.thinned } : {}),
  };
}
