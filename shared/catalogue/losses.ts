/**
 * The loss catalogue: what every built-in loss is (name, family, the inputs it needs, its params
 * with types, ranges and defaults), without any TensorFlow.js. The coordinator validates specs
 * from it; the worker's implementations (`worker/losses/`) register against these names, and a
 * worker test checks that every entry has exactly one implementation.
 *
 * To add a loss: add its entry here, then its implementation under `worker/losses/` and its
 * name in `worker/losses/registry.ts`.
 */

/** Which inputs a loss consumes; `computeLoss` takes the same names as plain arrays. */
export type LossInputName =
  | 'logits' // [N, K] float
  | 'labels' // [N] int
  | 'features' // [N, D] last hidden features (bias); higher ranks are flattened per sample
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

export type LossParamValue = number | string;

export interface LossParamSpec {
  name: string;
  description: string;
  default: LossParamValue;
  /** Numeric params: inclusive bounds unless `exclusive*` says otherwise; absent = unbounded. */
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  /** Enum params: the allowed values. */
  values?: string[];
}

export type LossFamily = 'classification' | 'binary' | 'embedding' | 'ranking' | 'preference' | 'group';

/** Everything about a loss except how to compute it. */
export interface LossDescriptor {
  name: string;
  description: string;
  /** What task family it fits: classification losses can be used by `classify`. */
  family: LossFamily;
  /** Inputs that must be present; `optional` ones are used when given. */
  inputs: LossInputName[];
  optionalInputs?: LossInputName[];
  stateful: boolean;
  params: LossParamSpec[];
}

/** The metrics `anyloss` can optimise. */
export const ANYLOSS_METRICS = ['f1', 'accuracy', 'balanced_accuracy', 'gmean'] as const;
export type AnyLossMetric = (typeof ANYLOSS_METRICS)[number];

/** Every built-in loss, in the order `trellis losses` lists them. */
export const LOSS_CATALOGUE: readonly LossDescriptor[] = [
  {
    name: 'ce',
    description: 'Softmax cross-entropy −log p_y (batch mean).',
    family: 'classification',
    inputs: ['logits', 'labels'],
    stateful: false,
    params: [],
  },
  {
    name: 'focal',
    description: 'Focal loss −(1 − p_y)^γ log p_y: down-weights well-classified samples (batch mean).',
    family: 'classification',
    inputs: ['logits', 'labels'],
    stateful: false,
    params: [{ name: 'gamma', description: 'focusing exponent γ (0 = cross-entropy)', default: 2, min: 0 }],
  },
  {
    name: 'gfl',
    description:
      'Generalized focal loss (DatasetEquity): CE weighted per sample by (η + (1 − p_s)^γ)/(η + 1), p_s = cluster likelihood.',
    family: 'classification',
    inputs: ['logits', 'labels', 'likelihoods'],
    stateful: false,
    params: [
      {
        name: 'eta',
        description: 'floor η of the weight (weight of the most common samples is η/(η+1))',
        default: 1,
        min: 0,
      },
      { name: 'gamma', description: 'exponent γ on (1 − p_s)', default: 5, min: 0 },
    ],
  },
  {
    name: 'bias',
    description:
      "Bias Loss: CE weighted by exp(α·ṽ) − β, ṽ the normalised variance of the sample's last features (keeps a running minimum variance).",
    family: 'classification',
    inputs: ['logits', 'labels', 'features'],
    stateful: true,
    params: [
      { name: 'alpha', description: 'scale α of the normalised variance in the weight', default: 0.3, min: 0 },
      {
        name: 'beta',
        description: 'offset β subtracted from the weight (β < 1 keeps weights positive)',
        default: 0.3,
        min: 0,
        max: 1,
        exclusiveMax: true,
      },
    ],
  },
  {
    name: 'zloss',
    description: 'Z-loss: softplus(a(b − z_y))/a on the z-normalised logits (shift and scale invariant).',
    family: 'classification',
    inputs: ['logits', 'labels'],
    stateful: false,
    params: [
      { name: 'a', description: 'sharpness a of the softplus', default: 1, min: 0, exclusiveMin: true },
      { name: 'b', description: 'location b: the z-score the target logit is pushed beyond', default: 0 },
    ],
  },
  {
    name: 'compsum',
    description: 'Comp-sum family ((1+u)^{1−τ} − 1)/(1 − τ), u = 1/p_y − 1: τ=0 sum-exp, τ=1 CE, τ=2 1 − p_y.',
    family: 'classification',
    inputs: ['logits', 'labels'],
    stateful: false,
    params: [{ name: 'tau', description: 'family parameter τ (1 = cross-entropy)', default: 1, min: 0 }],
  },
  {
    name: 'gce',
    description: 'Generalized cross-entropy (1 − p_y^q)/q: between CE (q→0) and MAE (q=1), robust to label noise.',
    family: 'classification',
    inputs: ['logits', 'labels'],
    stateful: false,
    params: [{ name: 'q', description: 'exponent q', default: 0.7, min: 0, max: 1, exclusiveMin: true }],
  },
  {
    name: 'ldr',
    description: 'LDR-KL: λ·log mean_k exp((c[k≠y] + f_k − f_y)/λ) on softplus-normalised logits (label-noise robust).',
    family: 'classification',
    inputs: ['logits', 'labels'],
    stateful: false,
    params: [
      { name: 'c', description: 'margin c added to the non-target classes', default: 2, min: 0 },
      {
        name: 'lambda',
        description: 'KL regularisation strength λ (temperature of the worst-case label distribution)',
        default: 1,
        min: 0,
        exclusiveMin: true,
      },
    ],
  },
  {
    name: 'aldr',
    description:
      'Adaptive LDR-KL: LDR-KL with a per-sample λ_i updated from the KL of the prediction to uniform (stateful, keyed by sampleIds).',
    family: 'classification',
    inputs: ['logits', 'labels'],
    optionalInputs: ['sampleIds'],
    stateful: true,
    params: [
      { name: 'c', description: 'margin c added to the non-target classes', default: 0.1, min: 0 },
      { name: 'lambda0', description: 'initial and reference λ0', default: 10, min: 0, exclusiveMin: true },
      {
        name: 'alpha',
        description: 'adaptation strength α (λ_i = λ0(1 − KL/(α log K)); ≥ 1 keeps λ_i positive)',
        default: 2,
        min: 1,
      },
    ],
  },
  {
    name: 'anyloss',
    description:
      'AnyLoss: 1 − a confusion-matrix metric (f1, accuracy, balanced_accuracy, gmean) on sigmoid-amplified probabilities (binary).',
    family: 'binary',
    inputs: ['probs', 'labels'],
    stateful: false,
    params: [
      { name: 'metric', description: 'the metric to optimise', default: 'f1', values: [...ANYLOSS_METRICS] },
      { name: 'L', description: 'amplifying scale L of A(p) = σ(L(p − 0.5))', default: 73, min: 0, exclusiveMin: true },
    ],
  },
  {
    name: 'ms',
    description: 'Multi-similarity loss on L2-normalised embeddings with hard-pair mining (metric learning).',
    family: 'embedding',
    inputs: ['embeddings', 'labels'],
    stateful: false,
    params: [
      { name: 'alpha', description: 'scale α of the positive term', default: 2, min: 0, exclusiveMin: true },
      { name: 'beta', description: 'scale β of the negative term', default: 40, min: 0, exclusiveMin: true },
      { name: 'lambda', description: 'similarity threshold λ', default: 0.5, min: -1, max: 1 },
      { name: 'epsilon', description: 'mining margin ε', default: 0.1, min: 0 },
    ],
  },
  {
    name: 'mw',
    description: 'Mann–Whitney AUC surrogate: mean over positive/negative score pairs of softplus(s_n − s_p).',
    family: 'ranking',
    inputs: ['positives', 'negatives'],
    stateful: false,
    params: [],
  },
  {
    name: 'tcm',
    description:
      'Threshold-consistent margin regulariser: penalises positive pairs below m⁺ and negative pairs above m⁻ (cosine).',
    family: 'embedding',
    inputs: ['embeddings', 'labels'],
    stateful: false,
    params: [
      { name: 'lambdaPos', description: 'weight λ⁺ of the positive-pair term', default: 1, min: 0 },
      { name: 'lambdaNeg', description: 'weight λ⁻ of the negative-pair term', default: 1, min: 0 },
      { name: 'marginPos', description: 'positive margin m⁺ (cosine)', default: 0.9, min: -1, max: 1 },
      { name: 'marginNeg', description: 'negative margin m⁻ (cosine)', default: 0.5, min: -1, max: 1 },
    ],
  },
  {
    name: 'prototriplet',
    description:
      'Prototype triplet loss: hinge on distance to own prototype minus distance to nearest other prototype plus margin (few-shot).',
    family: 'embedding',
    inputs: ['queries', 'prototypes', 'labels'],
    stateful: false,
    params: [{ name: 'margin', description: 'triplet margin m', default: 0.5, min: 0 }],
  },
  {
    name: 'rdpo',
    description: 'Robust DPO: [−(1−ε) log σ(βh) + ε log σ(−βh)]/(1 − 2ε) on chosen-minus-rejected log-ratio margins h.',
    family: 'preference',
    inputs: ['margins'],
    stateful: false,
    params: [
      {
        name: 'beta',
        description: 'inverse temperature β of the implicit reward',
        default: 0.1,
        min: 0,
        exclusiveMin: true,
      },
      {
        name: 'epsilon',
        description: 'assumed preference label-flip rate ε (0 = DPO)',
        default: 0,
        min: 0,
        max: 0.5,
        exclusiveMax: true,
      },
    ],
  },
  {
    name: 'worstgroup',
    description: 'Worst-group loss: the largest per-group mean cross-entropy in the batch.',
    family: 'group',
    inputs: ['logits', 'labels', 'groups'],
    stateful: false,
    params: [],
  },
  {
    name: 'fairreg',
    description: 'Fairness-regularised CE: mean CE + λ Σ_g |L_g − mean_g L_g| over the groups in the batch.',
    family: 'group',
    inputs: ['logits', 'labels', 'groups'],
    stateful: false,
    params: [{ name: 'lambda', description: 'weight λ of the group-disparity penalty', default: 1, min: 0 }],
  },
  {
    name: 'groupdro',
    description: 'Group-balanced CE: samples weighted by 1/(group size), so every group in the batch counts equally.',
    family: 'group',
    inputs: ['logits', 'labels', 'groups'],
    stateful: false,
    params: [],
  },
];

const byName = new Map(LOSS_CATALOGUE.map((d) => [d.name, d]));

export function lossNames(): string[] {
  return LOSS_CATALOGUE.map((d) => d.name);
}

/** The descriptor of a loss, or undefined. */
export function findLoss(name: string): LossDescriptor | undefined {
  return byName.get(name);
}

export interface LossDescription {
  name: string;
  description: string;
  family: LossFamily;
  inputs: LossInputName[];
  optionalInputs: LossInputName[];
  stateful: boolean;
  params: LossParamSpec[];
}

/** Plain JSON describing every loss (for `trellis losses --json`). */
export function describeLosses(): LossDescription[] {
  return LOSS_CATALOGUE.map((d) => ({
    name: d.name,
    description: d.description,
    family: d.family,
    inputs: [...d.inputs],
    optionalInputs: [...(d.optionalInputs ?? [])],
    stateful: d.stateful,
    params: d.params.map((p) => ({ ...p, ...(p.values ? { values: [...p.values] } : {}) })),
  }));
}
