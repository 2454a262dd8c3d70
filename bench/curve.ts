/**
 * The learning-curve surrogate of the `search` suite (bench/peers/curve.py is the same function
 * in Python; bench/README.md has a test vector both reproduce, and the suite checks them
 * against each other at the start of every run).
 *
 * Params: lr loguniform [1e-4, 1], momentum uniform [0, 1], dropout uniform [0, 0.6],
 * optimizer choice [adam, sgd, rmsprop]. With L = log10(lr) and o the optimizer:
 *
 *   final(p)  = peak[o] − 0.06·(L − L*[o])² − wm[o]·(momentum − 0.9)² − 0.4·(dropout − 0.2)²
 *               + 0.005·z(p)                                  (clamped to [0.05, 0.99])
 *   τ(p)      = 2 · 10^(0.1·(−2 − L)) · (1 + dropout)         (epochs; larger lr learns faster)
 *   acc(p, e) = final(p)·(1 − exp(−e/τ(p))) + 0.005·z(p, e)
 *
 * peak = [0.93, 0.95, 0.91], L* = [−3, −1.5, −2.5], wm = [0.02, 0.25, 0.05]. z(p) and z(p, e)
 * are standard normal draws from a 32-bit hash of the params (each quantised to 1e-6; lr in
 * log10) and of the epoch, so a config always gets the same curve, whoever evaluates it.
 * High learning rates climb fastest but end lower, so early rungs partly favour them over the
 * best configs (the short-horizon bias that makes early stopping a trade-off): over 2,000
 * random configs, the Spearman rank correlation of accuracy at epochs 1 / 3 / 9 with accuracy
 * at epoch 27 is about 0.36 / 0.61 / 0.96.
 */
import type { Params, Space } from '../shared/spec/space.js';

export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;
const PEAK = [0.93, 0.95, 0.91];
const L_STAR = [-3, -1.5, -2.5];
const W_MOMENTUM = [0.02, 0.25, 0.05];
const NOISE_FINAL = 0.005;
const NOISE_EPOCH = 0.005;

export const CURVE_SPACE: Space = {
  lr: { kind: 'loguniform', low: 1e-4, high: 1 },
  momentum: { kind: 'uniform', low: 0, high: 1 },
  dropout: { kind: 'uniform', low: 0, high: 0.6 },
  optimizer: { kind: 'choice', values: [...OPTIMIZERS] },
};

export interface CurveParams {
  lr: number;
  momentum: number;
  dropout: number;
  optimizer: string;
}

function mix(h: number, v: number): number {
  let x = Math.imul((h ^ v) >>> 0, 0x85ebca6b) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function quantise(x: number): number {
  return Math.floor(x * 1e6 + 0.5) >>> 0; // modulo 2^32, as Python's `% 2**32`
}

function configHash(p: CurveParams): number {
  let h = 0x2545f491;
  h = mix(h, quantise(Math.log10(p.lr)));
  h = mix(h, quantise(p.momentum));
  h = mix(h, quantise(p.dropout));
  h = mix(h, OPTIMIZERS.indexOf(p.optimizer as (typeof OPTIMIZERS)[number]) >>> 0);
  return h;
}

/** A standard normal draw from a hash (Box–Muller on two 32-bit uniforms). */
function gauss(h: number): number {
  const h2 = mix(h, 0x9e3779b9);
  const u1 = (h + 0.5) / 4294967296;
  const u2 = (h2 + 0.5) / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function optimizerIndex(p: CurveParams): number {
  const o = OPTIMIZERS.indexOf(p.optimizer as (typeof OPTIMIZERS)[number]);
  if (o < 0) throw new Error(`curve: unknown optimizer ${p.optimizer}`);
  return o;
}

/** The noiseless final accuracy (what the config converges to). */
export function finalClean(p: CurveParams): number {
  const o = optimizerIndex(p);
  const L = Math.log10(p.lr);
  return (
    PEAK[o]! - 0.06 * (L - L_STAR[o]!) ** 2 - W_MOMENTUM[o]! * (p.momentum - 0.9) ** 2 - 0.4 * (p.dropout - 0.2) ** 2
  );
}

export function finalAccuracy(p: CurveParams): number {
  const value = finalClean(p) + NOISE_FINAL * gauss(configHash(p));
  return Math.min(0.99, Math.max(0.05, value));
}

export function tau(p: CurveParams): number {
  return 2 * 10 ** (0.1 * (-2 - Math.log10(p.lr))) * (1 + p.dropout);
}

/** Validation accuracy after `epoch` (1-based) epochs. */
export function accuracy(p: CurveParams, epoch: number): number {
  const h = configHash(p);
  return finalAccuracy(p) * (1 - Math.exp(-epoch / tau(p))) + NOISE_EPOCH * gauss(mix(h, epoch >>> 0));
}

/**
 * The config's true quality: its noiseless accuracy after `epochs` (no config or epoch noise).
 * Regret is measured on this value of the incumbent (the config with the best report so far).
 */
export function trueValue(p: CurveParams, epochs: number): number {
  return finalClean(p) * (1 - Math.exp(-epochs / tau(p)));
}

export function asCurveParams(params: Params): CurveParams {
  return {
    lr: params.lr as number,
    momentum: params.momentum as number,
    dropout: params.dropout as number,
    optimizer: params.optimizer as string,
  };
}

/**
 * The best noiseless accuracy reachable at `epochs` over the space (the regret reference):
 * a grid search over log10(lr) (step 0.005), momentum and dropout (step 0.01), refined by a
 * second grid around the best point.
 */
export function optimumAt(epochs: number): { value: number; params: CurveParams } {
  let best = { value: -Infinity, params: { lr: 1, momentum: 0, dropout: 0, optimizer: 'adam' } as CurveParams };
  const clean = (p: CurveParams): number => trueValue(p, epochs);
  const search = (
    lo: CurveParams,
    hi: CurveParams,
    steps: [number, number, number],
    optimizers: readonly string[],
  ): void => {
    for (const optimizer of optimizers) {
      for (let i = 0; i <= steps[0]; i++) {
        const L = Math.log10(lo.lr) + ((Math.log10(hi.lr) - Math.log10(lo.lr)) * i) / steps[0];
        for (let j = 0; j <= steps[1]; j++) {
          const momentum = lo.momentum + ((hi.momentum - lo.momentum) * j) / steps[1];
          for (let k = 0; k <= steps[2]; k++) {
            const dropout = lo.dropout + ((hi.dropout - lo.dropout) * k) / steps[2];
            const p = { lr: 10 ** L, momentum, dropout, optimizer };
            const v = clean(p);
            if (v > best.value) best = { value: v, params: p };
          }
        }
      }
    }
  };
  search(
    { lr: 1e-4, momentum: 0, dropout: 0, optimizer: '' },
    { lr: 1, momentum: 1, dropout: 0.6, optimizer: '' },
    [400, 50, 30],
    OPTIMIZERS,
  );
  const c = best.params;
  const L = Math.log10(c.lr);
  search(
    {
      lr: 10 ** Math.max(-4, L - 0.02),
      momentum: Math.max(0, c.momentum - 0.02),
      dropout: Math.max(0, c.dropout - 0.02),
      optimizer: '',
    },
    {
      lr: 10 ** Math.min(0, L + 0.02),
      momentum: Math.min(1, c.momentum + 0.02),
      dropout: Math.min(0.6, c.dropout + 0.02),
      optimizer: '',
    },
    [40, 40, 40],
    [c.optimizer],
  );
  return best;
}

/** The README's test vector: the same inputs are evaluated by bench/peers/curve.py. */
export const TEST_VECTOR: { params: CurveParams; epoch: number }[] = [
  { params: { lr: 1e-3, momentum: 0.9, dropout: 0.2, optimizer: 'adam' }, epoch: 1 },
  { params: { lr: 1e-3, momentum: 0.9, dropout: 0.2, optimizer: 'adam' }, epoch: 27 },
  { params: { lr: 0.0316, momentum: 0.85, dropout: 0.1, optimizer: 'sgd' }, epoch: 3 },
  { params: { lr: 0.5, momentum: 0.1, dropout: 0.55, optimizer: 'sgd' }, epoch: 9 },
  { params: { lr: 2e-4, momentum: 0.33, dropout: 0.0, optimizer: 'rmsprop' }, epoch: 27 },
];
