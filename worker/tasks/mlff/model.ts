/**
 * A small machine-learned force field in tfjs, element-aware.
 *
 * Energy is a sum of atomic contributions. The features of atom a are Gaussian radial bases of
 * its distances to the other atoms, times a cosine cutoff, summed per neighbour element e:
 * `G_{e,k}(a) = Σ_{b≠a, Z_b = e} exp(−η(r_ab − μ_k)²)·fc(r_ab)` — the radial Behler–Parrinello
 * functions (G²) with one channel per element pair. They are invariant to translations,
 * rotations and the permutation of same-element atoms. Each centre element has its own MLP
 * (Behler–Parrinello's per-element networks), so an O–H distance and a C–H distance are never
 * confused. Radial only, no angular (G⁴) terms: for a small molecule the element-resolved
 * distance histogram already pins the geometry down (up to mirror images), angular terms would
 * cost O(atoms³) per frame, and forces by autodiff need second (score matching: third) order
 * gradients through every feature. The toy (one element, no `species`) is the same model with
 * one channel and one MLP.
 *
 * Forces are conservative, `F = −∂E/∂R`, by autodiff (`tf.grad`), so training on forces
 * differentiates through a gradient (second order; third for score matching). tfjs gets
 * higher-order gradients of tanh and exp wrong, so the model uses the order-safe versions in ops.ts.
 *
 * Weights travel between pipeline stages as `MlffWeights`: plain JSON (config, shapes, values).
 */
import type * as tfNs from '@tensorflow/tfjs';
import { Rng } from './system.js';
import { clampMax, exp as safeExp, tanh as safeTanh } from './ops.js';

export type TF = typeof tfNs;

export interface MlffConfig {
  atoms: number;
  /** Radial basis functions per atom. */
  basis: number;
  /** Smallest and largest basis centres μ (Å). */
  muMin: number;
  muMax: number;
  /** Cosine cutoff radius (Å). */
  cutoff: number;
  /** Hidden layer widths of the atomic MLP. */
  hidden: number[];
  /** Atomic number of each atom (length `atoms`); absent: one element. */
  species?: number[];
  /**
   * Multiplies each atomic MLP's output (before its output bias; default 1). Molecules' forces
   * are tens of kcal/(mol·Å): with a scale of that order the initial forces have the right size
   * and Adam need not spend its steps growing the last layer.
   */
  energyScale?: number;
}

export const DEFAULT_MLFF_CONFIG: MlffConfig = {
  atoms: 6,
  basis: 16,
  muMin: 0.8,
  muMax: 4.5,
  cutoff: 5,
  hidden: [32, 32],
};

/** JSON-able model weights; `values` are in the order of `shapes`. */
export interface MlffWeights {
  format: 'trellis-mlff/v1';
  config: MlffConfig;
  shapes: { name: string; shape: number[] }[];
  values: number[][];
}

export interface MlffModel {
  config: MlffConfig;
  /** Trainable variables, in the order of `paramShapes(config)`. */
  vars: tfNs.Variable[];
  dispose(): void;
}

/** The distinct atomic numbers, ascending ([0] for a one-element model without `species`). */
export function elementsOf(config: MlffConfig): number[] {
  return config.species ? [...new Set(config.species)].sort((a, b) => a - b) : [0];
}

/**
 * Names and shapes of the model's parameters: one MLP per element (names prefixed `Z<n>.`
 * when there is more than one element), each taking `basis × elements` features.
 */
export function paramShapes(config: MlffConfig): { name: string; shape: number[] }[] {
  const out: { name: string; shape: number[] }[] = [];
  const elements = elementsOf(config);
  for (const z of elements) {
    const prefix = elements.length > 1 ? `Z${z}.` : '';
    let fanIn = config.basis * elements.length;
    config.hidden.forEach((h, i) => {
      out.push({ name: `${prefix}w${i}`, shape: [fanIn, h] }, { name: `${prefix}b${i}`, shape: [h] });
      fanIn = h;
    });
    out.push({ name: `${prefix}wOut`, shape: [fanIn, 1] }, { name: `${prefix}bOut`, shape: [1] });
  }
  return out;
}

/** Indices (in `paramShapes` order) of the per-element output biases. */
export function outputBiasIndices(config: MlffConfig): number[] {
  return paramShapes(config).flatMap((p, i) => (p.name.endsWith('bOut') ? [i] : []));
}

/**
 * Fresh weights: Glorot-uniform matrices, zero biases, and the output bias set to
 * `energyShift` (the mean energy per atom of the training labels: the usual atom-reference
 * shift, so the energy term does not spend the run learning a constant).
 */
export function initWeights(config: MlffConfig, seed: number, energyShift = 0): MlffWeights {
  const rng = new Rng(seed);
  const shapes = paramShapes(config);
  const values = shapes.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 2) {
      const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
      return Array.from({ length: size }, () => (2 * rng.uniform() - 1) * limit);
    }
    return Array.from({ length: size }, () => (name.endsWith('bOut') ? energyShift : 0));
  });
  return { format: 'trellis-mlff/v1', config: copyConfig(config), shapes, values };
}

/** Checks that `w` is a well-formed weight object (e.g. one that came through JSON). */
export function validateWeights(w: unknown): MlffWeights {
  const bad = (why: string): never => {
    throw new Error(`invalid MLFF weights: ${why}`);
  };
  if (typeof w !== 'object' || w === null) return bad('not an object');
  const o = w as Partial<MlffWeights>;
  if (o.format !== 'trellis-mlff/v1') bad(`format must be trellis-mlff/v1`);
  const c = o.config;
  if (!c || typeof c !== 'object' || !Array.isArray(c.hidden)) return bad('missing config');
  const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
  if (!posInt(c.atoms) || c.atoms < 2 || !posInt(c.basis) || c.hidden.length === 0 || !c.hidden.every(posInt)) {
    bad('config needs integer atoms >= 2, basis >= 1 and a non-empty list of hidden widths');
  }
  if (
    c.species !== undefined &&
    (!Array.isArray(c.species) || c.species.length !== c.atoms || !c.species.every((z) => posInt(z) && z <= 118))
  ) {
    bad('config.species must list one atomic number (1-118) per atom');
  }
  if (c.energyScale !== undefined && !(typeof c.energyScale === 'number' && c.energyScale > 0)) {
    bad('config.energyScale must be a positive number');
  }
  if (
    ![c.muMin, c.muMax, c.cutoff].every((v) => typeof v === 'number' && Number.isFinite(v)) ||
    !(c.cutoff > 0) ||
    !(c.muMax >= c.muMin)
  ) {
    bad('config needs finite muMin <= muMax and cutoff > 0');
  }
  const expected = paramShapes(c);
  if (!Array.isArray(o.values) || o.values.length !== expected.length) bad('wrong number of tensors');
  expected.forEach(({ shape }, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = o.values![i];
    if (!Array.isArray(v) || v.length !== size || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      bad(`tensor ${i} must be ${size} finite numbers`);
    }
  });
  return { format: 'trellis-mlff/v1', config: c, shapes: expected, values: o.values! };
}

function copyConfig(c: MlffConfig): MlffConfig {
  return { ...c, hidden: [...c.hidden], ...(c.species ? { species: [...c.species] } : {}) };
}

export function createModel(tf: TF, weights: MlffWeights): MlffModel {
  const w = validateWeights(weights);
  // tidy disposes the initial values; variables survive it.
  const vars = tf.tidy(() =>
    w.shapes.map(({ shape }, i) => tf.variable(tf.tensor(w.values[i]!, shape, 'float32'), true)),
  );
  return {
    config: w.config,
    vars,
    dispose: () => vars.forEach((v) => v.dispose()),
  };
}

/** Current weights as plain arrays. */
export function getWeights(model: MlffModel): MlffWeights {
  const shapes = paramShapes(model.config);
  return {
    format: 'trellis-mlff/v1',
    config: copyConfig(model.config),
    shapes,
    values: model.vars.map((v) => Array.from(v.dataSync())),
  };
}

/** Overwrites the model's weights (same config). */
export function setWeights(tf: TF, model: MlffModel, weights: MlffWeights): void {
  const w = validateWeights(weights);
  if (JSON.stringify(w.config) !== JSON.stringify(model.config)) {
    throw new Error('setWeights: weights were made for a different model config');
  }
  tf.tidy(() => model.vars.forEach((v, i) => v.assign(tf.tensor(w.values[i]!, w.shapes[i]!.shape, 'float32'))));
}

/** Atomic features G [B, atoms, basis] from positions R [B, atoms, 3]. */
export function features(tf: TF, config: MlffConfig, R: tfNs.Tensor): tfNs.Tensor {
  return tf.tidy(() => {
    const n = config.atoms;
    const eye = tf.eye(n).expandDims(0); // [1, n, n]
    const diff = tf.sub(tf.expandDims(R, 2), tf.expandDims(R, 1)); // [B, n, n, 3]
    // +1 on the diagonal keeps sqrt away from 0 (its gradient is infinite there); masked below.
    const r = tf.sqrt(tf.add(tf.sum(tf.square(diff), -1), eye)); // [B, n, n]
    const rc = config.cutoff;
    const fc = tf.mul(0.5, tf.add(tf.cos(tf.mul(Math.PI / rc, clampMax(tf, r, rc))), 1));
    const mask = tf.mul(tf.sub(1, eye), fc); // zero on the diagonal and beyond the cutoff
    const k = config.basis;
    const mus = Array.from(
      { length: k },
      (_, i) => config.muMin + ((config.muMax - config.muMin) * i) / Math.max(1, k - 1),
    );
    const spacing = k > 1 ? (config.muMax - config.muMin) / (k - 1) : 1;
    const eta = 1 / (2 * spacing * spacing);
    const mu = tf.tensor1d(mus);
    const g = safeExp(tf, tf.mul(-eta, tf.square(tf.sub(tf.expandDims(r, -1), mu)))); // [B, n, n, k]
    const gm = tf.mul(g, tf.expandDims(mask, -1));
    const elements = elementsOf(config);
    if (elements.length === 1) return tf.sum(gm, 2); // [B, n, k]
    // One channel per neighbour element: sum over the neighbours b of that element only.
    const channels = elements.map((z) => {
      const sel = tf.tensor(
        config.species!.map((s) => (s === z ? 1 : 0)),
        [1, 1, n, 1],
      );
      return tf.sum(tf.mul(gm, sel), 2); // [B, n, k]
    });
    return tf.concat(channels, -1); // [B, n, k·elements]
  });
}

/** Per-frame energies E [B] (a sum of atomic energies). */
export function energy(tf: TF, model: MlffModel, R: tfNs.Tensor): tfNs.Tensor1D {
  return tf.tidy(() => {
    const { atoms, basis, hidden } = model.config;
    const elements = elementsOf(model.config);
    const batch = R.shape[0]!;
    const x = tf.reshape(features(tf, model.config, R), [batch * atoms, basis * elements.length]);
    const perElement = 2 * (hidden.length + 1);
    // Every element's MLP runs on every atom; a mask keeps each atom's own element (cheap at
    // these sizes, and only mul/matMul, whose gradients are right at every order).
    const parts = elements.map((z, e) => {
      const v = model.vars.slice(e * perElement, (e + 1) * perElement);
      let h: tfNs.Tensor = x;
      for (let i = 0; i < hidden.length; i++) {
        h = safeTanh(tf, tf.add(tf.matMul(h as tfNs.Tensor2D, v[2 * i]! as tfNs.Tensor2D), v[2 * i + 1]!));
      }
      const L = hidden.length;
      const last = tf.matMul(h as tfNs.Tensor2D, v[2 * L]! as tfNs.Tensor2D);
      const scaled = model.config.energyScale ? tf.mul(last, model.config.energyScale) : last;
      const out = tf.reshape(tf.add(scaled, v[2 * L + 1]!), [batch, atoms]);
      if (elements.length === 1) return out;
      return tf.mul(
        out,
        tf.tensor(
          model.config.species!.map((s) => (s === z ? 1 : 0)),
          [1, atoms],
        ),
      );
    });
    return tf.sum(parts.length === 1 ? parts[0]! : tf.addN(parts), 1) as tfNs.Tensor1D;
  });
}

/** Energies [B] and forces F = −∂E/∂R [B, atoms, 3]; differentiable w.r.t. the weights. */
export function energyAndForces(
  tf: TF,
  model: MlffModel,
  R: tfNs.Tensor,
): { energy: tfNs.Tensor1D; forces: tfNs.Tensor } {
  // Frames are independent, so ∂(Σ_i E_i)/∂R_i = ∂E_i/∂R_i.
  const { value, grad } = tf.valueAndGrad((x: tfNs.Tensor) => tf.sum(energy(tf, model, x)) as tfNs.Scalar)(R);
  value.dispose();
  const forces = tf.neg(grad);
  grad.dispose();
  return { energy: energy(tf, model, R), forces };
}

/** Forces only (−∂E/∂R). */
export function forces(tf: TF, model: MlffModel, R: tfNs.Tensor): tfNs.Tensor {
  return tf.tidy(() => tf.neg(tf.grad((x: tfNs.Tensor) => tf.sum(energy(tf, model, x)) as tfNs.Scalar)(R)));
}

/** Predicts energies and forces for frames given as plain arrays, in batches (no gradients kept). */
export function predict(
  tf: TF,
  model: MlffModel,
  positions: number[][][],
  batchSize = 256,
): { energies: number[]; forces: number[][][] } {
  const energies: number[] = [];
  const forcesOut: number[][][] = [];
  const atoms = model.config.atoms;
  for (let start = 0; start < positions.length; start += batchSize) {
    const chunk = positions.slice(start, start + batchSize);
    const { e, f } = tf.tidy(() => {
      const R = tf.tensor3d(chunk, [chunk.length, atoms, 3], 'float32');
      const out = energyAndForces(tf, model, R);
      return { e: out.energy, f: out.forces };
    });
    energies.push(...e.dataSync());
    const fv = f.dataSync();
    for (let i = 0; i < chunk.length; i++) {
      const frame: number[][] = [];
      for (let a = 0; a < atoms; a++) {
        const o = (i * atoms + a) * 3;
        frame.push([fv[o]!, fv[o + 1]!, fv[o + 2]!]);
      }
      forcesOut.push(frame);
    }
    e.dispose();
    f.dispose();
  }
  return { energies, forces: forcesOut };
}
