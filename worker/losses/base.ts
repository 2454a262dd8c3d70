import type * as tf from '@tensorflow/tfjs';

/** Which inputs a loss consumes; `computeLoss` takes the same names as plain arrays. */
export type LossInputName =
  | 'logits' // [N, K] float
  | 'labels' // [N] int
  | 'features' // [N, D] last hidden features (bias)
  | 'likelihoods' // [N] per-sample p_s in [0, 1] (gfl)
  | 'groups' // [N] int group ids (worstgroup, fairreg, groupdro)
  | 'sampleIds' // [N] int dataset row ids (per-sample state: aldr)
  | 'probs' // [N] probabilities of the positive class (anyloss)
  | 'embeddings' // [N, D] (ms, tcm)
  | 'queries' // [Q, D] (prototriplet)
  | 'prototypes' // [C, D] (prototriplet)
  | 'positives' // [P] scores (mw)
  | 'negatives' // [M] scores (mw)
  | 'margins'; // [N] chosen-minus-rejected log-ratios h (rdpo)

export type LossTensors = Partial<Record<LossInputName, tf.Tensor>>;

export type LossParamValue = number | string;

export interface LossParamSpec {
  name: string;
  description: string;
  default: LossParamValue;
  /** Numeric params: inclusive bounds unless `exclusive*` says otherwise. */
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  /** Enum params: the allowed values. */
  values?: string[];
}

/** One loss bound to its params (and, for stateful losses, its per-trial state). */
export interface LossInstance {
  /** A differentiable scalar; called inside the optimizer's gradient tape. */
  compute(inputs: LossTensors): tf.Scalar;
  /** JSON-serialisable state for checkpoints (stateful losses only). */
  saveState?(): unknown;
  loadState?(state: unknown): void;
}

export interface LossDefinition {
  name: string;
  description: string;
  /** Inputs that must be present; `optional` ones are used when given. */
  inputs: LossInputName[];
  optionalInputs?: LossInputName[];
  params: LossParamSpec[];
  stateful: boolean;
  /** What task family it fits: classification losses can be used by `classify`. */
  family: 'classification' | 'binary' | 'embedding' | 'ranking' | 'preference' | 'group';
  create(params: Record<string, LossParamValue>): LossInstance;
}
