/**
 * ASTEROID on the toy molecular system (worker/tasks/mlff): analytic forces, the injected bias,
 * the MLFF's autodiff forces, the bias weights, the score-matching loss, the stage tasks.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { sampleRankCorrelation } from 'simple-statistics';
import {
  bias,
  biasErrors,
  biasWeights,
  createModel,
  DEFAULT_MLFF_CONFIG,
  energy,
  energyAndForces,
  energyForceLoss,
  estimateBias,
  flatten3,
  forces,
  framesHash,
  generateFrames,
  getWeights,
  heldOutFrames,
  initWeights,
  K_B,
  localContext,
  maes,
  mlffBiasTask,
  mlffTasks,
  mlffTrainTask,
  morse,
  parseBiasOptions,
  parseTrainOptions,
  potential,
  predict,
  predictWith,
  probeVectors,
  radiusOfGyration,
  Rng,
  runAsteroidArms,
  scoreMatchingLoss,
  setWeights,
  trainFrames,
  trainMlff,
  validateWeights,
  type MlffWeights,
  type SystemOptions,
} from '../../worker/tasks/mlff/index.js';
import { exp as safeExp, tanh as safeTanh } from '../../worker/tasks/mlff/ops.js';
import { mlffBiasDescriptor, mlffTrainDescriptor } from '../../shared/catalogue/tasks/mlff.js';
import { PermanentRunError, StoppedError } from '../../worker/runtimes/base.js';
import { trialSchema } from '../../shared/spec/schema.js';

const backend = { name: 'wasm', tf };

/** The toy system's data options (6 atoms, 500 K) for a data seed. */
function toySystem(dataSeed: number, held: { testFrames?: number } = {}): SystemOptions {
  return { system: 'morse-toy', atoms: 6, temperature: 500, dataSeed, valFrames: 50, testFrames: 200, ...held };
}

before(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
});

function centralDiff(f: (x: Float64Array) => number, x: Float64Array, h: number): Float64Array {
  const g = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const p = Float64Array.from(x);
    const m = Float64Array.from(x);
    p[k] = p[k]! + h;
    m[k] = m[k]! - h;
    g[k] = (f(p) - f(m)) / (2 * h);
  }
  return g;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]!));
  return m;
}

describe('toy system: analytic potentials', () => {
  const frames = generateFrames({ n: 5, seed: 7, potential: 'accurate' });
  const configs = frames.positions.map((p) => Float64Array.from(p.flat()));

  it('Morse forces are −∂E/∂R (central differences)', () => {
    for (const x of configs) {
      const { forces } = morse(x);
      const grad = centralDiff((p) => morse(p).energy, x, 1e-5);
      assert.ok(maxAbs(forces) > 0.5, 'frames should carry non-trivial forces');
      assert.ok(
        maxAbsDiff(
          forces,
          grad.map((g) => -g),
        ) < 1e-6,
        `max diff ${maxAbsDiff(
          forces,
          grad.map((g) => -g),
        )}`,
      );
    }
  });

  it('bias forces are −∂b/∂R and the cheap potential is accurate + bias', () => {
    for (const x of configs) {
      const b = bias(x);
      const grad = centralDiff((p) => bias(p).energy, x, 1e-5);
      assert.ok(
        maxAbsDiff(
          b.forces,
          grad.map((g) => -g),
        ) < 1e-6,
      );
      const cheap = potential('cheap', x);
      const acc = potential('accurate', x);
      assert.ok(Math.abs(cheap.energy - acc.energy - b.energy) < 1e-12);
      for (let k = 0; k < x.length; k++) assert.ok(Math.abs(cheap.forces[k]! - acc.forces[k]! - b.forces[k]!) < 1e-12);
      const cheapGrad = centralDiff((p) => potential('cheap', p).energy, x, 1e-5);
      assert.ok(
        maxAbsDiff(
          cheap.forces,
          cheapGrad.map((g) => -g),
        ) < 1e-6,
      );
    }
  });

  it('the bias is κ(Rg − r0)² (hand check on a square)', () => {
    // Unit square in the xy plane: Rg = √0.5; with κ = 2, r0 = 0.5: b = 2(√0.5 − 0.5)².
    const x = [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0];
    const params = { morseD: 1, morseA: 1, morseRe: 1, biasKappa: 2, biasR0: 0.5, wallRadius: 10 };
    assert.ok(Math.abs(radiusOfGyration(x) - Math.SQRT1_2) < 1e-12);
    const b = bias(x, params);
    assert.ok(Math.abs(b.energy - 2 * (Math.SQRT1_2 - 0.5) ** 2) < 1e-12);
    // Force on atom 0: −2κ(Rg − r0)(r0 − com)/(N·Rg), com = (0.5, 0.5, 0).
    const coef = (-2 * 2 * (Math.SQRT1_2 - 0.5)) / (4 * Math.SQRT1_2);
    assert.ok(Math.abs(b.forces[0]! - coef * -0.5) < 1e-12);
    assert.ok(Math.abs(b.forces[1]! - coef * -0.5) < 1e-12);
    assert.equal(Math.abs(b.forces[2]!), 0);
  });

  it('cheap frames: the generator’s bias is exactly cheap − accurate, and it varies across frames', () => {
    const cheap = generateFrames({ n: 40, seed: 3, potential: 'cheap' });
    assert.equal(cheap.positions.length, 40);
    assert.equal(cheap.positions[0]!.length, 6);
    assert.equal(cheap.forces[0]![0]!.length, 3);
    const mags = cheap.biasMagnitude!;
    for (let i = 0; i < cheap.n; i++) {
      const x = cheap.positions[i]!.flat();
      const acc = morse(x);
      const b = bias(x);
      assert.ok(Math.abs(cheap.energies[i]! - acc.energy - cheap.biasEnergy![i]!) < 1e-9);
      assert.ok(Math.abs(cheap.biasEnergy![i]! - b.energy) < 1e-12);
      const f = cheap.forces[i]!.flat();
      let mag = 0;
      for (let k = 0; k < f.length; k++) {
        assert.ok(Math.abs(f[k]! - acc.forces[k]! - b.forces[k]!) < 1e-9);
        mag += Math.abs(f[k]! - acc.forces[k]!);
      }
      assert.ok(Math.abs(mags[i]! - mag / f.length) < 1e-9);
    }
    const sorted = [...mags].sort((a, b) => a - b);
    assert.ok(
      sorted[sorted.length - 1]! > 4 * sorted[4]!,
      `bias should vary: ${sorted[4]} … ${sorted[sorted.length - 1]}`,
    );
    // Accurate frames carry no bias fields.
    assert.equal(generateFrames({ n: 2, seed: 3, potential: 'accurate' }).biasMagnitude, undefined);
  });

  it('frames are deterministic in the seed, prefix-stable, and differ across seeds', () => {
    const a = generateFrames({ n: 12, seed: 5, potential: 'cheap' });
    const b = generateFrames({ n: 30, seed: 5, potential: 'cheap' });
    const c = generateFrames({ n: 12, seed: 6, potential: 'cheap' });
    assert.deepEqual(b.positions.slice(0, 12), a.positions);
    assert.deepEqual(b.energies.slice(0, 12), a.energies);
    assert.notDeepEqual(c.positions, a.positions);
    assert.ok(a.acceptance > 0.1 && a.acceptance < 0.9, `acceptance ${a.acceptance}`);
    // The sampled cluster stays bound: every atom within the wall, energies well below zero.
    for (const e of b.energies) assert.ok(e < -20, `energy ${e}`);
  });
});

describe('MLFF model', () => {
  const config = { ...DEFAULT_MLFF_CONFIG, hidden: [16, 16] };
  const weights = initWeights(config, 11, 0);
  const frames = generateFrames({ n: 3, seed: 9, potential: 'accurate' });

  it('forces equal −∂E/∂R (central differences, float32)', () => {
    const model = createModel(tf, weights);
    try {
      const { forces } = predict(tf, model, frames.positions);
      for (let i = 0; i < frames.n; i++) {
        const x = Float64Array.from(frames.positions[i]!.flat());
        const e = (p: Float64Array): number =>
          tf.tidy(() => energy(tf, model, tf.tensor3d(Array.from(p), [1, 6, 3])).dataSync()[0]!);
        const grad = centralDiff(e, x, 1e-2);
        const f = forces[i]!.flat();
        assert.ok(maxAbs(f) > 0.05, 'forces should not vanish');
        const diff = maxAbsDiff(
          f,
          grad.map((g) => -g),
        );
        assert.ok(diff < 3e-3 * Math.max(1, maxAbs(f)), `frame ${i}: max |F + ∂E/∂R| = ${diff}`);
      }
    } finally {
      model.dispose();
    }
  });

  it('the gradient of a force loss w.r.t. the weights (second order) matches central differences', () => {
    const model = createModel(tf, weights);
    const R = tf.tensor3d(flatten3(frames.positions), [frames.n, 6, 3]);
    const C = tf.tensor3d(
      Array.from({ length: frames.n * 18 }, (_, k) => Math.sin(k + 1)),
      [frames.n, 6, 3],
    );
    try {
      const lossOf = (): tf.Scalar => tf.sum(tf.mul(energyAndForces(tf, model, R).forces, C)) as tf.Scalar;
      const { value, grads } = tf.variableGrads(lossOf, model.vars);
      const w0 = model.vars[0]!;
      const g = grads[w0.name]!.dataSync();
      const base = w0.dataSync().slice();
      for (const k of [0, 5, 37, 100]) {
        const at = (delta: number): number => {
          const v = base.slice();
          v[k] = v[k]! + delta;
          tf.tidy(() => w0.assign(tf.tensor(v, w0.shape)));
          return tf.tidy(() => lossOf().dataSync()[0]!);
        };
        const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
        assert.ok(
          Math.abs(fd - g[k]!) < 2e-2 * Math.max(1, Math.abs(g[k]!)),
          `weight ${k}: autodiff ${g[k]} vs fd ${fd}`,
        );
      }
      tf.tidy(() => w0.assign(tf.tensor(base, w0.shape)));
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      model.dispose();
      R.dispose();
      C.dispose();
    }
  });

  it('energy is invariant to rotations, translations and atom permutations; forces rotate with the frame', () => {
    const x = frames.positions[0]!;
    const th = 0.7;
    const rot = (v: number[]): number[] => [
      Math.cos(th) * v[0]! - Math.sin(th) * v[1]!,
      Math.sin(th) * v[0]! + Math.cos(th) * v[1]!,
      v[2]!,
    ];
    const moved = x.map((v) => rot(v).map((c, d) => c + [0.3, -1.2, 2][d]!));
    const perm = [3, 1, 5, 0, 2, 4];
    const permuted = perm.map((p) => x[p]!);
    const model = createModel(tf, weights);
    try {
      const out = predict(tf, model, [x, moved, permuted]);
      assert.ok(Math.abs(out.energies[1]! - out.energies[0]!) < 1e-4);
      assert.ok(Math.abs(out.energies[2]! - out.energies[0]!) < 1e-4);
      const f0 = out.forces[0]!;
      out.forces[1]!.forEach((f, a) => rot(f0[a]!).forEach((c, d) => assert.ok(Math.abs(c - f[d]!) < 1e-4)));
      out.forces[2]!.forEach((f, a) => f0[perm[a]!]!.forEach((c, d) => assert.ok(Math.abs(c - f[d]!) < 1e-4)));
    } finally {
      model.dispose();
    }
  });

  it('weights round-trip through JSON and setWeights', () => {
    const a = createModel(tf, weights);
    const b = createModel(tf, initWeights(config, 12, 0));
    try {
      const json = JSON.parse(JSON.stringify(getWeights(a))) as MlffWeights;
      setWeights(tf, b, validateWeights(json));
      const pa = predict(tf, a, frames.positions);
      const pb = predict(tf, b, frames.positions);
      assert.deepEqual(pb.energies, pa.energies);
      assert.deepEqual(getWeights(b).values, getWeights(a).values);
      assert.throws(() => validateWeights({ ...json, values: json.values.slice(1) }), /wrong number of tensors/);
      assert.throws(() => setWeights(tf, b, initWeights({ ...config, hidden: [8] }, 1)), /different model config/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

describe('ASTEROID losses', () => {
  it('bias weights: e = [0, 0.5, 1, 2], γ = 1 → [1, 0.60653, 0.36788, 0.13534]', () => {
    const w = biasWeights([0, 0.5, 1, 2], 1);
    [1, 0.60653, 0.36788, 0.13534].forEach((v, i) => assert.ok(Math.abs(w[i]! - v) < 5e-6, `w[${i}] = ${w[i]}`));
    // γ and the normalizer: exp(−e/γ)/normalizer.
    const w2 = biasWeights([1], 2, 4);
    assert.ok(Math.abs(w2[0]! - Math.exp(-0.5) / 4) < 1e-15);
    assert.throws(() => biasWeights([1], 0), /gamma/);
  });

  it('e_i is the mean over atoms and xyz of |F_teacher − F_cheap|', () => {
    const t = [
      [
        [1, 2, 3],
        [0, 0, 0],
      ],
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
    ];
    const c = [
      [
        [0, 2, 5],
        [0, 0, -3],
      ],
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
    ];
    assert.deepEqual(biasErrors(t, c), [(1 + 0 + 2 + 0 + 0 + 3) / 6, 0]);
  });

  it('energy + force loss: (1 − ρ)·MAE_E + ρ·mean_i[w_i·mean|F̂ − F|]', () => {
    const predE = tf.tensor1d([1, 2]);
    const trueE = tf.tensor1d([0, 4]);
    const predF = tf.tensor3d([[[1, 1, 1]], [[0, 0, 0]]]);
    const trueF = tf.tensor3d([[[0, 1, 3]], [[3, 3, 3]]]);
    const w = tf.tensor1d([0.5, 2]);
    // MAE_E = 1.5; per-frame force MAE = [1, 3]; weighted mean = (0.5·1 + 2·3)/2 = 3.25.
    const rho = 0.9;
    const plain = energyForceLoss(tf, {
      predEnergy: predE,
      trueEnergy: trueE,
      predForces: predF,
      trueForces: trueF,
      rho,
    });
    const weighted = energyForceLoss(tf, {
      predEnergy: predE,
      trueEnergy: trueE,
      predForces: predF,
      trueForces: trueF,
      weights: w,
      rho,
    });
    assert.ok(Math.abs(plain.dataSync()[0]! - (0.1 * 1.5 + 0.9 * 2)) < 1e-5);
    assert.ok(Math.abs(weighted.dataSync()[0]! - (0.1 * 1.5 + 0.9 * 3.25)) < 1e-5);
    tf.dispose([predE, trueE, predF, trueF, w, plain, weighted]);
  });

  it('score matching for a linear force F = −K·R: ½‖KR‖² − k_B·T·tr(K) in expectation (one atom)', () => {
    // K symmetric positive definite (3×3), R one frame of one atom.
    const K = [
      [2.0, 0.3, -0.2],
      [0.3, 1.5, 0.4],
      [-0.2, 0.4, 1.0],
    ];
    const R = [[[0.7, -1.1, 0.4]]];
    const n = 40000;
    const Kt = tf.tensor2d(K);
    const Rt = tf.tensor3d(R);
    const forceFn = (x: tf.Tensor): tf.Tensor => tf.neg(tf.reshape(tf.matMul(tf.reshape(x, [-1, 3]), Kt), x.shape));
    const v = probeVectors(tf, n, [1, 1, 3], 123);
    const L = scoreMatchingLoss(tf, forceFn, Rt, { vectors: v, temperature: 500 });
    const KR = K.map((row) => row.reduce((s, k, j) => s + k * R[0]![0]![j]!, 0));
    const expected = 0.5 * KR.reduce((s, x) => s + x * x, 0) - K_B * 500 * (2.0 + 1.5 + 1.0);
    // The estimator's std is k_B·T·√(2·tr(K²)/n) ≈ 0.015; allow 4σ.
    const got = L.dataSync()[0]!;
    assert.ok(Math.abs(got - expected) < 0.06, `L = ${got}, expected ${expected}`);
    // Temperature enters only through k_B·T·tr(K): T = 0 leaves ½‖KR‖² exactly.
    const L0 = scoreMatchingLoss(tf, forceFn, Rt, { vectors: v, temperature: 1e-12 });
    assert.ok(Math.abs(L0.dataSync()[0]! - 0.5 * KR.reduce((s, x) => s + x * x, 0)) < 1e-4);
    tf.dispose([Kt, Rt, v, L, L0]);
  });

  it('score matching averages over atoms and frames: (½‖KR‖² − k_B·T·tr K)/atoms for several atoms', () => {
    const atoms = 3;
    const d = atoms * 3;
    const rng = new Rng(5);
    // K = AᵀA/d + I (SPD, 9×9).
    const A = Array.from({ length: d }, () => Array.from({ length: d }, () => rng.normal()));
    const K = Array.from({ length: d }, (_, i) =>
      Array.from({ length: d }, (_, j) => A.reduce((s, row) => s + row[i]! * row[j]!, 0) / d + (i === j ? 1 : 0)),
    );
    const frames = [0, 1].map(() => Array.from({ length: atoms }, () => [rng.normal(), rng.normal(), rng.normal()]));
    const Kt = tf.tensor2d(K);
    const Rt = tf.tensor3d(frames);
    const forceFn = (x: tf.Tensor): tf.Tensor => tf.neg(tf.reshape(tf.matMul(tf.reshape(x, [-1, d]), Kt), x.shape));
    const n = 20000;
    const v = probeVectors(tf, n, [2, atoms, 3], 77);
    const got = scoreMatchingLoss(tf, forceFn, Rt, { vectors: v, temperature: 500 }).dataSync()[0]!;
    const trK = K.reduce((s, row, i) => s + row[i]!, 0);
    const perFrame = frames.map((f) => {
      const x = f.flat();
      const KR = K.map((row) => row.reduce((s, k, j) => s + k * x[j]!, 0));
      return (0.5 * KR.reduce((s, y) => s + y * y, 0) - K_B * 500 * trK) / atoms;
    });
    const expected = (perFrame[0]! + perFrame[1]!) / 2;
    const trK2 = K.reduce((s, row) => s + row.reduce((t, k) => t + k * k, 0), 0);
    const sigma = (K_B * 500 * Math.sqrt((2 * trK2) / (n * 2))) / atoms;
    assert.ok(Math.abs(got - expected) < 5 * sigma, `L = ${got}, expected ${expected} (σ ${sigma})`);
    tf.dispose([Kt, Rt, v]);
  });

  it('score matching trains: its weight gradient (third order through the model) matches central differences', () => {
    const model = createModel(tf, initWeights({ ...DEFAULT_MLFF_CONFIG, hidden: [8] }, 3, 0));
    const frames = generateFrames({ n: 4, seed: 2, potential: 'cheap' });
    const R = tf.tensor3d(flatten3(frames.positions), [4, 6, 3]);
    const v = probeVectors(tf, 2, [4, 6, 3], 1);
    const lossOf = (): tf.Scalar => scoreMatchingLoss(tf, (x) => forces(tf, model, x), R, { vectors: v });
    try {
      const { value, grads } = tf.variableGrads(lossOf, model.vars);
      assert.ok(Number.isFinite(value.dataSync()[0]!));
      const w0 = model.vars[0]!;
      const g = grads[w0.name]!.dataSync();
      const base = w0.dataSync().slice();
      for (const k of [0, 9, 77]) {
        const at = (delta: number): number => {
          const x = base.slice();
          x[k] = x[k]! + delta;
          tf.tidy(() => w0.assign(tf.tensor(x, w0.shape)));
          return tf.tidy(() => lossOf().dataSync()[0]!);
        };
        const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
        assert.ok(
          Math.abs(fd - g[k]!) < 3e-2 * Math.max(1, Math.abs(g[k]!)),
          `weight ${k}: autodiff ${g[k]} vs fd ${fd}`,
        );
      }
      tf.tidy(() => w0.assign(tf.tensor(base, w0.shape)));
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      model.dispose();
      tf.dispose([R, v]);
    }
  });

  it('order-safe tanh and exp: tfjs’s own tanh fails at second order, ours is right at third', () => {
    const x = tf.scalar(0.5);
    assert.throws(() => tf.grad(tf.grad(tf.tanh))(x), /Cannot compute gradient/);
    const t = Math.tanh(0.5);
    const d1 = 1 - t * t;
    const d3 = -2 * d1 * d1 + 4 * t * t * d1;
    const third = tf.grad(tf.grad(tf.grad((y: tf.Tensor) => safeTanh(tf, y))))(x);
    assert.ok(Math.abs(third.dataSync()[0]! - d3) < 1e-5);
    const expThird = tf.grad(tf.grad(tf.grad((y: tf.Tensor) => safeExp(tf, y))))(x);
    assert.ok(Math.abs(expThird.dataSync()[0]! - Math.exp(0.5)) < 1e-5);
    tf.dispose([x, third, expThird]);
  });
});

describe('ASTEROID stages', () => {
  let teacher: MlffWeights;
  let teacherMetrics: Record<string, number>;
  let teacherReports: { step: number; metrics: Record<string, number> }[];

  before(async () => {
    const { ctx, reports } = localContext('teacher', {}, 1);
    const out = await trainMlff(
      tf,
      ctx,
      parseTrainOptions({ seed: 1, epochs: 60, frames: 30, testFrames: 60, valFrames: 30 }),
    );
    teacher = out.weights;
    teacherMetrics = out.metrics;
    teacherReports = reports;
  });

  it('a short training run decreases the force MAE', () => {
    const first = teacherReports[0]!.metrics.val_force_mae!;
    const last = teacherReports[teacherReports.length - 1]!.metrics.val_force_mae!;
    assert.equal(teacherReports.length, 60);
    assert.ok(last < 0.5 * first, `val force MAE ${first} → ${last}`);
    // Against the untrained model on the same held-out test set.
    const test = heldOutFrames(toySystem(1, { testFrames: 60 }), 'test');
    const untrained = maes(predictWith(tf, initWeights(DEFAULT_MLFF_CONFIG, 5, 0), test.positions), test);
    assert.ok(
      teacherMetrics.test_force_mae! < 0.5 * untrained.force,
      `${teacherMetrics.test_force_mae} vs untrained ${untrained.force}`,
    );
    const first3 = teacherReports.slice(0, 3).map((r) => r.metrics.loss!);
    const last3 = teacherReports.slice(-3).map((r) => r.metrics.loss!);
    assert.ok(Math.max(...last3) < Math.min(...first3));
  });

  it('bias weights anti-correlate with the injected bias (trained teacher, and a perfect one)', () => {
    const { ctx } = localContext('bias', {}, 1);
    const out = estimateBias(tf, ctx, parseBiasOptions({ seed: 1, teacherWeights: teacher, frames: 200 }));
    const rho = sampleRankCorrelation(out.outputs.weights, out.trueBias);
    assert.ok(rho < -0.3, `Spearman(weights, injected bias) = ${rho}`);
    assert.equal(out.metrics.spearman_weight_true_bias, rho);
    assert.equal(out.outputs.weights.length, 200);
    out.outputs.weights.forEach((w, i) => assert.ok(Math.abs(w - Math.exp(-out.outputs.e[i]!)) < 1e-12));
    // A perfect teacher (the accurate potential itself) recovers the bias exactly: e = injected bias.
    const cheap = trainFrames(toySystem(1), 'cheap', 200);
    const exact = biasErrors(
      cheap.positions.map((p) => {
        const f = morse(p.flat()).forces;
        return p.map((_, a) => [f[3 * a]!, f[3 * a + 1]!, f[3 * a + 2]!]);
      }),
      cheap.forces,
    );
    exact.forEach((e, i) => assert.ok(Math.abs(e - cheap.biasMagnitude![i]!) < 1e-9));
    assert.ok(Math.abs(sampleRankCorrelation(biasWeights(exact), cheap.biasMagnitude!) + 1) < 1e-12);
    assert.equal(out.outputs.framesHash, framesHash(cheap));
  });

  it('mlff-bias and mlff-train tasks: outputs pass between stages; wrong frames or options fail permanently', async () => {
    assert.deepEqual(
      mlffTasks.map((t) => t.name),
      ['mlff-train', 'mlff-bias'],
    );
    const bias = await mlffBiasTask.run(
      localContext('bias', { seed: 1, teacherWeights: teacher, frames: 40 }, 1).ctx,
      backend,
    );
    const outputs = bias.info.outputs as {
      weights: number[];
      e: number[];
      teacherEnergies: number[];
      framesHash: string;
    };
    assert.equal(outputs.weights.length, 40);
    assert.equal(outputs.teacherEnergies.length, 40);
    // Pretrain on the weighted cheap frames with teacher energies (weights passed as a JSON string, as a pipeline might).
    const pre = await mlffTrainTask.run(
      localContext(
        'pre',
        {
          seed: 1,
          data: 'cheap',
          frames: 40,
          epochs: 2,
          weights: outputs.weights,
          framesHash: outputs.framesHash,
          energyLabels: 'teacher',
          teacherWeights: JSON.stringify(teacher),
          testFrames: 20,
          valFrames: 10,
        },
        1,
      ).ctx,
      backend,
    );
    const checkpoint = (pre.info.outputs as { checkpoint: MlffWeights }).checkpoint;
    assert.equal(validateWeights(JSON.parse(JSON.stringify(checkpoint))).values.length, 6);
    assert.ok(Number.isFinite(pre.metrics.test_force_mae!));
    // Fine-tune from it.
    const fine = await mlffTrainTask.run(
      localContext('fine', { seed: 1, epochs: 2, frames: 20, init: checkpoint, testFrames: 20, valFrames: 10 }, 1).ctx,
      backend,
    );
    assert.equal(fine.info.initialised, 'init');
    // It started from the checkpoint, not only says so: the same run from scratch ends elsewhere.
    const scratch = await mlffTrainTask.run(
      localContext('scratch', { seed: 1, epochs: 2, frames: 20, testFrames: 20, valFrames: 10 }, 1).ctx,
      backend,
    );
    assert.equal(scratch.info.initialised, 'scratch');
    const weightsOf = (r: { info: Record<string, unknown> }): number[][] =>
      (r.info.outputs as { checkpoint: MlffWeights }).checkpoint.values;
    assert.notDeepEqual(weightsOf(fine), weightsOf(scratch), 'init changes where fine-tuning ends');
    // Frames regenerated from another data seed do not match the weights' hash.
    await assert.rejects(
      mlffTrainTask.run(
        localContext(
          'x',
          { seed: 2, data: 'cheap', frames: 40, epochs: 1, weights: outputs.weights, framesHash: outputs.framesHash },
          2,
        ).ctx,
        backend,
      ),
      (err: unknown) => err instanceof PermanentRunError && /hash/.test(err.message),
    );
    await assert.rejects(
      mlffTrainTask.run(localContext('x', { data: 'cheap', frames: 40, weights: [1, 2] }, 2).ctx, backend),
      (err: unknown) => err instanceof PermanentRunError && /weights has 2 entries/.test(err.message),
    );
    await assert.rejects(
      mlffTrainTask.run(localContext('x', { data: 'dft' }, 2).ctx, backend),
      (err: unknown) => err instanceof PermanentRunError && /options\.data/.test(err.message),
    );
    await assert.rejects(
      mlffTrainTask.run(localContext('x', { energyLabels: 'teacher' }, 2).ctx, backend),
      (err: unknown) => err instanceof PermanentRunError && /teacherWeights/.test(err.message),
    );
    await assert.rejects(mlffBiasTask.run(localContext('x', {}, 2).ctx, backend), PermanentRunError);
  });

  it('validate() reports option problems at submit time; `${…}` references to earlier stages count as present', () => {
    const config = (options: Record<string, unknown>) => trialSchema.parse({ task: 'mlff-train', options });
    assert.deepEqual(mlffTrainDescriptor.validate(config({ data: 'accurate', frames: 20 })), []);
    assert.match(mlffTrainDescriptor.validate(config({ data: 'dft' })).join('\n'), /^trial\.options\.data: /);
    assert.deepEqual(mlffTrainDescriptor.validate(config({ frames: 3, weights: [1, 1] })), [
      'trial.options.weights: 2 entries for 3 frames',
    ]);
    assert.deepEqual(mlffTrainDescriptor.validate(config({ energyLabels: 'teacher' })), [
      'trial.options.teacherWeights: required when energyLabels is "teacher"',
    ]);
    assert.deepEqual(
      mlffTrainDescriptor.validate(
        config({ energyLabels: 'teacher', teacherWeights: '${stages.teacher.outputs.checkpoint}' }),
      ),
      [],
    );
    assert.deepEqual(
      mlffBiasDescriptor.validate(config({ teacherWeights: '${stages.teacher.outputs.checkpoint}' })),
      [],
    );
    assert.match(mlffBiasDescriptor.validate(config({})).join('\n'), /trial\.options\.teacherWeights/);
    assert.match(
      mlffBiasDescriptor.validate(config({ teacherWeights: { format: 'nope' } })).join('\n'),
      /invalid MLFF weights/,
    );
  });

  it('the held-out test set depends only on the data seed (same in every arm)', async () => {
    const a = await trainMlff(
      tf,
      localContext('a', {}, 1).ctx,
      parseTrainOptions({ seed: 4, epochs: 1, frames: 5, testFrames: 20, valFrames: 5 }),
    );
    const b = await trainMlff(
      tf,
      localContext('b', {}, 1).ctx,
      parseTrainOptions({ seed: 4, data: 'cheap', epochs: 1, frames: 7, testFrames: 20, valFrames: 5 }),
    );
    const testA = heldOutFrames(toySystem(4, { testFrames: 20 }), 'test');
    assert.equal(a.info.dataSeed, 4);
    assert.equal(b.info.dataSeed, 4);
    // The reported test MAE is the one on exactly these frames.
    assert.ok(
      Math.abs(maes(predictWith(tf, a.weights, testA.positions), testA).force - a.metrics.test_force_mae!) < 1e-9,
    );
    assert.ok(
      Math.abs(maes(predictWith(tf, b.weights, testA.positions), testA).force - b.metrics.test_force_mae!) < 1e-9,
    );
    assert.notEqual(framesHash(testA), framesHash(heldOutFrames(toySystem(5, { testFrames: 20 }), 'test')));
  });

  it('resuming from the stage’s checkpoint gives the same weights as an uninterrupted run', async () => {
    const options = { seed: 3, epochs: 4, frames: 10, testFrames: 10, valFrames: 5, checkpointSeconds: 0 };
    const full = await trainMlff(tf, localContext('full', {}, 3).ctx, parseTrainOptions(options));
    // The first attempt is stopped after epoch 2 (its checkpoint saved); the second resumes.
    const { ctx } = localContext('part', {}, 3);
    const controller = new AbortController();
    const first: typeof ctx = {
      ...ctx,
      signal: controller.signal,
      report: (step, metrics) => {
        ctx.report(step, metrics);
        if (step === 2) controller.abort(new StoppedError('lease lost'));
      },
    };
    await assert.rejects(trainMlff(tf, first, parseTrainOptions(options)), StoppedError);
    const saved = await ctx.checkpoint.load();
    assert.equal(saved?.step, 2);
    const resumed = await trainMlff(tf, ctx, parseTrainOptions(options));
    resumed.weights.values.forEach((v, i) => assert.ok(maxAbsDiff(v, full.weights.values[i]!) < 1e-6));
    assert.ok(Math.abs(resumed.metrics.test_force_mae! - full.metrics.test_force_mae!) < 1e-5);
  });

  it('stops with StoppedError when the attempt is aborted', async () => {
    const { ctx } = localContext('stop', {}, 1);
    const controller = new AbortController();
    controller.abort(new StoppedError('cancelled'));
    await assert.rejects(
      trainMlff(tf, { ...ctx, signal: controller.signal }, parseTrainOptions({ epochs: 3, frames: 5 })),
      StoppedError,
    );
  });

  it('score-matching pretraining runs as a stage', async () => {
    const out = await trainMlff(
      tf,
      localContext('sm', {}, 1).ctx,
      parseTrainOptions({
        seed: 1,
        data: 'cheap',
        pretrainLoss: 'score-matching',
        frames: 20,
        epochs: 2,
        testFrames: 10,
        valFrames: 5,
        batchSize: 10,
      }),
    );
    assert.equal(out.info.loss, 'score-matching');
    assert.ok(Number.isFinite(out.metrics.loss!));
    // It trains: one more epoch moves the weights.
    const shorter = await trainMlff(
      tf,
      localContext('sm1', {}, 1).ctx,
      parseTrainOptions({
        seed: 1,
        data: 'cheap',
        pretrainLoss: 'score-matching',
        frames: 20,
        epochs: 1,
        testFrames: 10,
        valFrames: 5,
        batchSize: 10,
      }),
    );
    assert.notDeepEqual(out.weights.values, shorter.weights.values, 'the second epoch changed the weights');
  });

  // runAsteroidArms is a local helper (timing, docs); the product runs the `asteroid` template
  // through the pipeline engine, tested in test/integration/templates.test.ts.
  it('the local arm-set helper runs every stage (small)', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const r = await runAsteroidArms(backend, {
      seed: 2,
      accurateFrames: 10,
      cheapFrames: 30,
      teacherEpochs: 3,
      pretrainEpochs: 2,
      finetuneEpochs: 2,
      testFrames: 20,
      trainOptions: { valFrames: 5 },
    });
    assert.deepEqual(Object.keys(r.arms).sort(), ['asteroid', 'baseline', 'uniform']);
    for (const arm of Object.values(r.arms)) assert.ok(Number.isFinite(arm.test_force_mae) && arm.test_force_mae > 0);
    assert.deepEqual(
      r.stages.map((s) => s.stage),
      ['teacher', 'bias', 'asteroid-pretrain', 'asteroid-finetune', 'uniform-pretrain', 'uniform-finetune'],
    );
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensors leak across the stages');
  });
});
