import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  computeLoss,
  createLoss,
  describeLosses,
  getLossDefinition,
  gflWeight,
  listLosses,
  LossConfigError,
  lossNames,
  resolveLoss,
  tensorsFromArrays,
  type LossArrayInputs,
  type LossInputName,
} from '../../worker/losses/index.js';
import { mulberry32 as rng } from '../../shared/hash.js';

function matrix(rand: () => number, rows: number, cols: number, scale = 1): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rand() * 2 - 1) * scale));
}

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Number.isFinite(actual), `${what}: got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected} ± ${tol}, got ${actual}`);
}

const softplus = (x: number): number => Math.log1p(Math.exp(x));
/** Logits [0, z] with label 0 have cross-entropy exactly ℓ when z = log(e^ℓ − 1). */
const logitsWithCE = (ls: number[]): number[][] => ls.map((l) => [0, Math.log(Math.expm1(l))]);

const H = [[2, 1, 0]];
const Y = [0];

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('ALGORITHMS.md §3 test vectors', () => {
  it('ce: h=[2,1,0], y=0 → 0.407606', async () => {
    close(await computeLoss('ce', {}, { logits: H, labels: Y }), 0.407606, 1e-5, 'ce');
  });

  it('gfl weight w(p_s), η=1, γ=5: 0 → 1, 0.1 → 0.795245, 0.5 → 0.515625, 1 → 0.5', async () => {
    const table: Array<[number, number]> = [
      [0, 1],
      [0.1, 0.795245],
      [0.5, 0.515625],
      [1, 0.5],
    ];
    for (const [ps, w] of table) {
      close(gflWeight(ps), w, 1e-6, `gflWeight(${ps})`);
      // Through the loss: zero logits over 2 classes have CE = ln 2, so L = w · ln 2.
      const l = await computeLoss('gfl', {}, { logits: [[0, 0]], labels: [0], likelihoods: [ps] });
      close(l / Math.LN2, w, 1e-5, `gfl(p_s=${ps}) / ln 2`);
    }
  });

  it('bias: the table batch → 1.212090 (first call)', async () => {
    const l = await computeLoss(
      'bias',
      {},
      {
        features: [
          [1, 2, 3, 4],
          [0, 0, 0, 4],
          [1, 1, 1, 1],
        ],
        logits: [
          [2, 1, 0],
          [0, 1, 2],
          [1, 1, 1],
        ],
        labels: [0, 0, 2],
      },
    );
    close(l, 1.21209, 1e-5, 'bias');
  });

  it('zloss: (a=1, b=0) → 0.257609; (a=1, b=1) → 0.587075', async () => {
    close(await computeLoss('zloss', { a: 1, b: 0 }, { logits: H, labels: Y }), 0.257609, 1e-5, 'zloss b=0');
    close(await computeLoss('zloss', { a: 1, b: 1 }, { logits: H, labels: Y }), 0.587075, 1e-5, 'zloss b=1');
  });

  it('compsum: τ=0 → 0.503215, τ=1 → 0.407606, τ=2 → 0.334759', async () => {
    close(await computeLoss('compsum', { tau: 0 }, { logits: H, labels: Y }), 0.503215, 1e-5, 'τ=0');
    close(await computeLoss('compsum', { tau: 1 }, { logits: H, labels: Y }), 0.407606, 1e-5, 'τ=1');
    close(await computeLoss('compsum', { tau: 2 }, { logits: H, labels: Y }), 0.334759, 1e-5, 'τ=2');
  });

  it('gce (q=0.7) → 0.354614', async () => {
    close(await computeLoss('gce', {}, { logits: H, labels: Y }), 0.354614, 1e-5, 'gce');
  });

  it('ldr (c=2, λ=1) → 0.943083', async () => {
    close(await computeLoss('ldr', { c: 2, lambda: 1 }, { logits: H, labels: Y }), 0.943083, 1e-5, 'ldr');
  });

  it('aldr first call (c=0.1, λ0=10, α=2) → −0.903275 and λ = 9.984868', async () => {
    close(
      await computeLoss('aldr', { c: 0.1, lambda0: 10, alpha: 2 }, { logits: H, labels: Y }),
      -0.903275,
      1e-5,
      'aldr',
    );
    const loss = createLoss({ name: 'aldr', c: 0.1, lambda0: 10, alpha: 2 });
    tf.tidy(() => loss.compute({ logits: tf.tensor2d(H), labels: tf.tensor1d(Y, 'int32') }));
    const state = loss.saveState!() as { lambdas: Array<[number, number]> };
    assert.equal(state.lambdas.length, 1);
    assert.equal(state.lambdas[0]![0], 0); // keyed by batch position without sampleIds
    close(state.lambdas[0]![1], 9.984868, 1e-5, 'λ after the first call');
  });

  it('anyloss p=[0.9,0.2,0.7,0.4], y=[1,0,0,1], L=73: 1−F1 → 0.499748, 1−acc → 0.499831, 1−bacc → 0.499832', async () => {
    const inputs = { probs: [0.9, 0.2, 0.7, 0.4], labels: [1, 0, 0, 1] };
    close(await computeLoss('anyloss', { metric: 'f1', L: 73 }, inputs), 0.499748, 1e-5, 'f1');
    close(await computeLoss('anyloss', { metric: 'accuracy', L: 73 }, inputs), 0.499831, 1e-5, 'accuracy');
    close(
      await computeLoss('anyloss', { metric: 'balanced_accuracy', L: 73 }, inputs),
      0.499832,
      1e-5,
      'balanced_accuracy',
    );
    // gmean has no vector in the table: TP ≈ 1.000675, TN ≈ 1.0000005, y1 = y0 = 2 →
    // 1 − sqrt(TP·TN/4) ≈ 0.499832 (derived by hand from the same A(p)).
    close(await computeLoss('anyloss', { metric: 'gmean', L: 73 }, inputs), 0.499832, 1e-5, 'gmean');
  });

  it('ms: the table embeddings → 0.339372', async () => {
    const l = await computeLoss(
      'ms',
      {},
      {
        embeddings: [
          [1, 0],
          [0.8, 0.6],
          [0.6, 0.8],
          [0, 1],
        ],
        labels: [0, 0, 1, 1],
      },
    );
    close(l, 0.339372, 1e-5, 'ms');
  });

  it('mw: P=[0.8,0.3], N=[0.5,0.1,0.4] → 0.601872', async () => {
    close(await computeLoss('mw', {}, { positives: [0.8, 0.3], negatives: [0.5, 0.1, 0.4] }), 0.601872, 1e-5, 'mw');
  });

  it('tcm: the table embeddings → 0.51788', async () => {
    const l = await computeLoss(
      'tcm',
      {},
      {
        embeddings: [
          [0, 1],
          [0.43, 0.9],
          [1, 0],
          [0.5, 0.5],
        ],
        labels: [0, 0, 1, 1],
      },
    );
    close(l, 0.51788, 1e-5, 'tcm');
  });

  it('prototriplet: the table queries → 0.3000', async () => {
    const l = await computeLoss(
      'prototriplet',
      {},
      {
        prototypes: [
          [0, 0],
          [2, 0],
        ],
        queries: [
          [0.5, 0],
          [1.5, 0],
          [1.2, 0],
        ],
        labels: [0, 1, 0],
      },
    );
    close(l, 0.3, 1e-4, 'prototriplet');
  });

  it('rdpo: (h=1, β=0.1, ε=0) → 0.644397; (1, 0.1, 0.1) → 0.631897', async () => {
    close(await computeLoss('rdpo', { beta: 0.1, epsilon: 0 }, { margins: [1] }), 0.644397, 1e-5, 'ε=0');
    close(await computeLoss('rdpo', { beta: 0.1, epsilon: 0.1 }, { margins: [1] }), 0.631897, 1e-5, 'ε=0.1');
  });

  it('worstgroup: ℓ=[0.2,0.4,1.0,0.6], groups [A,A,B,B] → 0.8; fairreg (λ=1) → 1.05', async () => {
    const inputs = { logits: logitsWithCE([0.2, 0.4, 1.0, 0.6]), labels: [0, 0, 0, 0], groups: ['A', 'A', 'B', 'B'] };
    close(await computeLoss('worstgroup', {}, inputs), 0.8, 1e-5, 'worstgroup');
    close(await computeLoss('fairreg', { lambda: 1 }, inputs), 1.05, 1e-5, 'fairreg');
  });
});

describe('values derived by hand', () => {
  const rand = rng(7);
  const logits = matrix(rand, 6, 4, 3);
  const labels = [0, 1, 2, 3, 1, 2];
  const probsOf = (row: number[], y: number): number => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    return e[y]! / e.reduce((a, b) => a + b, 0);
  };
  const py = logits.map((row, i) => probsOf(row, labels[i]!));
  const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('focal with γ=0 equals ce; with γ=2 on the table logits it is (1 − p_y)² CE = 0.045678', async () => {
    const ce = await computeLoss('ce', {}, { logits, labels });
    close(ce, meanOf(py.map((p) => -Math.log(p))), 1e-5, 'ce on random logits');
    close(await computeLoss('focal', { gamma: 0 }, { logits, labels }), ce, 1e-6, 'focal γ=0');
    close(await computeLoss('focal', { gamma: 2 }, { logits: H, labels: Y }), 0.045678, 1e-5, 'focal γ=2');
  });

  it('compsum τ=1 equals ce, τ=2 equals 1 − p_y, τ=0 equals 1/p_y − 1', async () => {
    close(
      await computeLoss('compsum', { tau: 1 }, { logits, labels }),
      await computeLoss('ce', {}, { logits, labels }),
      1e-6,
      'τ=1',
    );
    close(await computeLoss('compsum', { tau: 2 }, { logits, labels }), meanOf(py.map((p) => 1 - p)), 1e-5, 'τ=2');
    close(await computeLoss('compsum', { tau: 0 }, { logits, labels }), meanOf(py.map((p) => 1 / p - 1)), 1e-3, 'τ=0');
  });

  it('gce with q=1 is the MAE 1 − p_y', async () => {
    close(await computeLoss('gce', { q: 1 }, { logits, labels }), meanOf(py.map((p) => 1 - p)), 1e-5, 'gce q=1');
  });

  it('gfl with all p_s = 1 is η/(η+1) · ce', async () => {
    const ce = await computeLoss('ce', {}, { logits, labels });
    const l = await computeLoss('gfl', { eta: 3, gamma: 2 }, { logits, labels, likelihoods: labels.map(() => 1) });
    close(l, 0.75 * ce, 1e-5, 'gfl');
  });

  it('zloss is invariant to shifting and scaling the logits', async () => {
    const a = await computeLoss('zloss', { a: 2, b: 0.5 }, { logits, labels });
    const moved = logits.map((row) => row.map((v) => 3 * v + 5));
    close(await computeLoss('zloss', { a: 2, b: 0.5 }, { logits: moved, labels }), a, 1e-5, 'zloss(3h + 5)');
  });

  it('rdpo with ε=0 equals −log σ(βh)', async () => {
    const margins = [-4, -0.5, 0, 1, 7];
    const expected = meanOf(margins.map((h) => softplus(-0.5 * h)));
    close(await computeLoss('rdpo', { beta: 0.5, epsilon: 0 }, { margins }), expected, 1e-5, 'rdpo');
  });

  it('mw of one pair is softplus(s_n − s_p); with no negative it is 0', async () => {
    close(await computeLoss('mw', {}, { positives: [0.2], negatives: [1.5] }), softplus(1.3), 1e-6, 'mw pair');
    assert.equal(await computeLoss('mw', {}, { positives: [0.2], negatives: [] }), 0);
  });

  it('groupdro on the table input is the mean of the group losses (0.3 + 0.8)/2 = 0.55', async () => {
    const inputs = { logits: logitsWithCE([0.2, 0.4, 1.0, 0.6]), labels: [0, 0, 0, 0], groups: ['A', 'A', 'B', 'B'] };
    close(await computeLoss('groupdro', {}, inputs), 0.55, 1e-5, 'groupdro');
    // Unequal groups: A = {0.2}, B = {0.4, 1.0, 0.6} → worst 2/3, balanced (0.2 + 2/3)/2.
    const skewed = { ...inputs, groups: [5, 9, 9, 9] };
    close(await computeLoss('worstgroup', {}, skewed), 2 / 3, 1e-5, 'worstgroup skewed');
    close(await computeLoss('groupdro', {}, skewed), (0.2 + 2 / 3) / 2, 1e-5, 'groupdro skewed');
    // fairreg: mean ℓ = 0.55, |0.2 − 0.4333| + |0.6667 − 0.4333| = 0.4667, λ = 0.5.
    close(await computeLoss('fairreg', { lambda: 0.5 }, skewed), 0.55 + 0.5 * (7 / 15), 1e-5, 'fairreg skewed');
  });

  it('string and integer group ids give the same value', async () => {
    const base = { logits, labels };
    const byString = await computeLoss('fairreg', {}, { ...base, groups: ['x', 'y', 'x', 'z', 'y', 'x'] });
    const byInt = await computeLoss('fairreg', {}, { ...base, groups: [10, 2, 10, 7, 2, 10] });
    assert.equal(byString, byInt);
  });

  it('bias with α = 0 is (1 − β) · ce', async () => {
    const features = matrix(rng(3), 6, 5);
    const ce = await computeLoss('ce', {}, { logits, labels });
    close(
      await computeLoss('bias', { alpha: 0, beta: 0.25 }, { logits, labels, features }),
      0.75 * ce,
      1e-5,
      'bias α=0',
    );
  });

  it('prototriplet: a query between two prototypes, hand distances', async () => {
    // q = (1.2, 0.9): d(q, p0=(0,0)) = 1.5, d(q, p1=(3, 0.9)) = 1.8, d(q, p2=(1.2, -2)) = 2.9.
    // Label 1: 1.8 − min(1.5, 2.9) + 0.5 = 0.8. Label 0: 1.5 − 1.8 + 0.5 = 0.2.
    const inputs = {
      queries: [
        [1.2, 0.9],
        [1.2, 0.9],
      ],
      prototypes: [
        [0, 0],
        [3, 0.9],
        [1.2, -2],
      ],
      labels: [1, 0],
    };
    close(await computeLoss('prototriplet', { margin: 0.5 }, inputs), 0.5, 1e-5, 'prototriplet');
  });

  it('anyloss with well-separated probabilities is ≈ 0 for every metric', async () => {
    for (const metric of ['f1', 'accuracy', 'balanced_accuracy', 'gmean']) {
      const l = await computeLoss('anyloss', { metric }, { probs: [0.99, 0.01, 0.95, 0.02], labels: [1, 0, 1, 0] });
      close(l, 0, 1e-4, metric);
    }
  });

  it('ms and tcm are 0 when no pair qualifies', async () => {
    // One sample per class: no positive pair, every anchor is skipped.
    close(
      await computeLoss(
        'ms',
        {},
        {
          embeddings: [
            [1, 0],
            [0, 1],
          ],
          labels: [0, 1],
        },
      ),
      0,
      0,
      'ms',
    );
    // Orthogonal classes, identical positives: no positive below 0.9, no negative above 0.5.
    const embeddings = [
      [1, 0],
      [1, 0],
      [0, 1],
      [0, 2],
    ];
    close(await computeLoss('tcm', {}, { embeddings, labels: [0, 0, 1, 1] }), 0, 1e-6, 'tcm');
  });

  it('ce gradient is (softmax − onehot)/N', () => {
    const loss = createLoss('ce');
    const g = tf.tidy(() => {
      const labelsT = tf.tensor1d(labels, 'int32');
      return tf
        .grad((x: tf.Tensor) => loss.compute({ logits: x, labels: labelsT }))(tf.tensor2d(logits))
        .arraySync() as number[][];
    });
    logits.forEach((row, i) => {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      row.forEach((_, k) =>
        close(g[i]![k]!, (e[k]! / s - (k === labels[i] ? 1 : 0)) / logits.length, 1e-6, `grad[${i}][${k}]`),
      );
    });
  });
});

describe('gradients are finite on random inputs', () => {
  const N = 8;
  const K = 4;

  /** Inputs for each loss and the inputs to differentiate with respect to. */
  function cases(seed: number, scale: number): Record<string, { inputs: LossArrayInputs; wrt: LossInputName[] }> {
    const rand = rng(seed);
    const logits = matrix(rand, N, K, scale);
    const labels = Array.from({ length: N }, (_, i) => i % K);
    const classification = { inputs: { logits, labels }, wrt: ['logits'] as LossInputName[] };
    const groups = {
      inputs: { logits, labels, groups: labels.map((y) => ['a', 'b', 'c'][y % 3]!) },
      wrt: ['logits'] as LossInputName[],
    };
    const embedding = {
      inputs: { embeddings: matrix(rand, N, 4), labels: [0, 0, 1, 1, 2, 2, 0, 1] },
      wrt: ['embeddings'] as LossInputName[],
    };
    return {
      ce: classification,
      focal: classification,
      gfl: { inputs: { logits, labels, likelihoods: labels.map(() => rand()) }, wrt: ['logits'] },
      bias: { inputs: { logits, labels, features: matrix(rand, N, 6) }, wrt: ['logits'] },
      zloss: classification,
      compsum: classification,
      gce: classification,
      ldr: classification,
      aldr: { inputs: { logits, labels, sampleIds: labels.map((_, i) => 100 + i) }, wrt: ['logits'] },
      anyloss: {
        inputs: { probs: labels.map(() => 0.3 + 0.4 * rand()), labels: labels.map((y) => y % 2) },
        wrt: ['probs'],
      },
      ms: embedding,
      mw: { inputs: { positives: [0.3, 1.2, -0.4], negatives: [0.1, 0.9, -1, 2] }, wrt: ['positives', 'negatives'] },
      tcm: embedding,
      prototriplet: {
        inputs: { queries: matrix(rand, 6, 4), prototypes: matrix(rand, 3, 4), labels: [0, 1, 2, 0, 1, 2] },
        wrt: ['queries', 'prototypes'],
      },
      rdpo: { inputs: { margins: labels.map(() => (rand() * 2 - 1) * 5) }, wrt: ['margins'] },
      worstgroup: groups,
      fairreg: groups,
      groupdro: groups,
    };
  }

  function gradients(
    name: string,
    c: { inputs: LossArrayInputs; wrt: LossInputName[] },
    params: Record<string, unknown> = {},
  ): number[][] {
    const def = getLossDefinition(name);
    const loss = createLoss({ name, ...params });
    return tf.tidy(() => {
      const tensors = tensorsFromArrays(def, c.inputs);
      const xs = c.wrt.map((k) => tensors[k]!);
      const gs = tf.grads((...args: tf.Tensor[]) => {
        const replaced = { ...tensors };
        c.wrt.forEach((k, i) => (replaced[k] = args[i]!));
        return loss.compute(replaced);
      })(xs);
      return gs.map((g) => Array.from(g.dataSync()));
    });
  }

  it('has a case for every registered loss', () => {
    assert.deepEqual(Object.keys(cases(1, 1)).sort(), lossNames().sort());
  });

  for (const [label, seed, scale] of [
    ['moderate logits', 11, 3],
    ['extreme logits (±40)', 12, 40],
  ] as const) {
    it(`every loss, ${label}: finite and not all zero`, () => {
      for (const [name, c] of Object.entries(cases(seed, scale))) {
        const gs = gradients(name, c);
        for (const [i, g] of gs.entries()) {
          assert.ok(g.every(Number.isFinite), `${name}: d/d${c.wrt[i]} has a non-finite entry: ${g.join(',')}`);
        }
        assert.ok(
          gs.some((g) => g.some((v) => v !== 0)),
          `${name}: gradient is identically zero`,
        );
      }
    });
  }

  it('classification losses stay finite on constant (all-zero) logits and confident ones', () => {
    const zeros = Array.from({ length: N }, () => Array.from({ length: K }, () => 0));
    const confident = Array.from({ length: N }, (_, i) =>
      Array.from({ length: K }, (_, k) => (k === i % K ? 80 : -80)),
    );
    const labels = Array.from({ length: N }, (_, i) => i % K);
    const extras = (logits: number[][]): LossArrayInputs => ({
      logits,
      labels,
      likelihoods: labels.map(() => 0.5),
      features: zeros.map((r) => r.map(() => 1)), // zero variance everywhere: the 0/0 guard
      groups: labels,
    });
    const params: Record<string, Record<string, unknown>> = { focal: { gamma: 0.5 }, compsum: { tau: 0.5 } };
    for (const def of listLosses().filter((d) => d.family === 'classification' || d.family === 'group')) {
      for (const logits of [zeros, confident]) {
        const [g] = gradients(def.name, { inputs: extras(logits), wrt: ['logits'] }, params[def.name]);
        assert.ok(g!.every(Number.isFinite), `${def.name}: non-finite gradient`);
        const value = createLoss({ name: def.name, ...params[def.name] });
        const v = tf.tidy(() => value.compute(tensorsFromArrays(def, extras(logits))).dataSync()[0]!);
        assert.ok(Number.isFinite(v), `${def.name}: non-finite value ${v}`);
      }
    }
  });
});

describe('stateful losses round-trip their state', () => {
  const rand = rng(21);
  // Early batches have low-variance features, so bias's running minimum sits below the next
  // batch's own minimum and the state changes the next value.
  const batch = (ids: number[], featureScale = 2) => ({
    logits: matrix(rand, ids.length, 5, 2),
    labels: ids.map((i) => i % 5),
    features: matrix(rand, ids.length, 6, featureScale),
    sampleIds: ids,
  });

  for (const name of listLosses()
    .filter((d) => d.stateful)
    .map((d) => d.name)) {
    it(`${name}: saveState → JSON → loadState gives the identical next value`, () => {
      const def = getLossDefinition(name);
      const original = createLoss(name);
      for (const ids of [
        [0, 1, 2, 3],
        [2, 3, 4, 5, 6],
      ]) {
        const b = batch(ids, 0.3);
        tf.tidy(() => original.compute(tensorsFromArrays(def, b)));
      }
      const saved = JSON.parse(JSON.stringify(original.saveState!())) as unknown;
      const restored = createLoss(name);
      restored.loadState!(saved);
      assert.deepEqual(restored.saveState!(), original.saveState!());

      const next = batch([1, 2, 5, 9]);
      const a = tf.tidy(() => original.compute(tensorsFromArrays(def, next)).dataSync()[0]!);
      const b = tf.tidy(() => restored.compute(tensorsFromArrays(def, next)).dataSync()[0]!);
      assert.equal(b, a);
      assert.deepEqual(restored.saveState!(), original.saveState!());
      // The state matters: a fresh instance gives another value.
      const fresh = tf.tidy(() => createLoss(name).compute(tensorsFromArrays(def, next)).dataSync()[0]!);
      assert.notEqual(fresh, a);
    });
  }

  it('bias: the running minimum carries over to the next batch (hand values)', () => {
    const def = getLossDefinition('bias');
    const loss = createLoss('bias');
    tf.tidy(() => loss.compute(tensorsFromArrays(def, { logits: [[1, 0]], labels: [0], features: [[0, 0, 0]] })));
    assert.deepEqual(loss.saveState!(), { globalMin: 0 });
    // Next batch: variances [2, 8]. With g = 0: ṽ = [2/6, 8/6]; a fresh instance has g = 2: ṽ = [0, 1].
    const next = {
      logits: [
        [1, 0],
        [0, 1],
      ],
      labels: [0, 0],
      features: [
        [0, 2],
        [0, 4],
      ],
    };
    close(
      tf.tidy(() => loss.compute(tensorsFromArrays(def, next)).dataSync()[0]!),
      0.908703,
      1e-5,
      'with state',
    );
    close(
      tf.tidy(() => createLoss('bias').compute(tensorsFromArrays(def, next)).dataSync()[0]!),
      0.799011,
      1e-5,
      'fresh',
    );
  });

  it('aldr: the second call uses the stored λ (hand value)', () => {
    const def = getLossDefinition('aldr');
    const loss = createLoss('aldr');
    const first = tf.tidy(
      () => loss.compute(tensorsFromArrays(def, { logits: H, labels: Y, sampleIds: [42] })).dataSync()[0]!,
    );
    const second = tf.tidy(
      () => loss.compute(tensorsFromArrays(def, { logits: H, labels: Y, sampleIds: [42] })).dataSync()[0]!,
    );
    close(first, -0.903275, 1e-5, 'first');
    close(second, -0.903275, 1e-5, 'second');
    const state = loss.saveState!() as { lambdas: Array<[number, number]> };
    assert.equal(state.lambdas[0]![0], 42);
    close(state.lambdas[0]![1], 9.984822, 1e-5, 'λ after the second call');
  });

  it('loadState rejects malformed state', () => {
    assert.throws(() => createLoss('bias').loadState!({ min: 1 }), LossConfigError);
    assert.throws(() => createLoss('aldr').loadState!({ lambdas: [[1, 'x']] }), /loss aldr: invalid saved state/);
  });
});

describe('registry, resolution and errors', () => {
  const expectedParams: Record<string, string[]> = {
    ce: [],
    focal: ['gamma'],
    gfl: ['eta', 'gamma'],
    bias: ['alpha', 'beta'],
    zloss: ['a', 'b'],
    compsum: ['tau'],
    gce: ['q'],
    ldr: ['c', 'lambda'],
    aldr: ['c', 'lambda0', 'alpha'],
    anyloss: ['metric', 'L'],
    ms: ['alpha', 'beta', 'lambda', 'epsilon'],
    mw: [],
    tcm: ['lambdaPos', 'lambdaNeg', 'marginPos', 'marginNeg'],
    prototriplet: ['margin'],
    rdpo: ['beta', 'epsilon'],
    worstgroup: [],
    fairreg: ['lambda'],
    groupdro: [],
  };

  it('registers exactly the documented losses with the documented param names', () => {
    assert.deepEqual(lossNames().sort(), Object.keys(expectedParams).sort());
    for (const def of listLosses())
      assert.deepEqual(
        def.params.map((p) => p.name),
        expectedParams[def.name],
        def.name,
      );
  });

  it('every default resolves, and stateful flags match', () => {
    for (const def of listLosses()) {
      const { params } = resolveLoss(def.name);
      for (const p of def.params) assert.equal(params[p.name], p.default, `${def.name}.${p.name}`);
      assert.equal(def.stateful, def.name === 'bias' || def.name === 'aldr', def.name);
    }
    assert.deepEqual(resolveLoss({ name: 'ldr', lambda: 10 }).params, { c: 2, lambda: 10 });
    assert.deepEqual(resolveLoss('anyloss').params, { metric: 'f1', L: 73 });
  });

  it('describeLosses is plain JSON', () => {
    const d = describeLosses();
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
    const aldr = d.find((x) => x.name === 'aldr')!;
    assert.deepEqual(aldr.optionalInputs, ['sampleIds']);
    assert.equal(aldr.stateful, true);
    assert.deepEqual(d.find((x) => x.name === 'gfl')!.inputs, ['logits', 'labels', 'likelihoods']);
    assert.deepEqual(d.find((x) => x.name === 'anyloss')!.params[0]!.values, [
      'f1',
      'accuracy',
      'balanced_accuracy',
      'gmean',
    ]);
  });

  it('an unknown loss names the valid ones', () => {
    assert.throws(
      () => getLossDefinition('hinge'),
      (err: unknown) => {
        assert.ok(err instanceof LossConfigError);
        assert.match(err.message, /^unknown loss 'hinge'; valid losses: ce, focal, gfl, /);
        for (const n of lossNames()) assert.ok(err.message.includes(n));
        return true;
      },
    );
    assert.throws(() => resolveLoss({ name: 'nope' }), /unknown loss 'nope'/);
  });

  it('bad params: out of range, wrong type, unknown name, bad enum', () => {
    const cases: Array<[Parameters<typeof resolveLoss>[0], string]> = [
      [{ name: 'gce', q: 1.5 }, 'loss gce: q must be in (0, 1], got 1.5'],
      [{ name: 'gce', q: 0 }, 'loss gce: q must be in (0, 1], got 0'],
      [{ name: 'rdpo', epsilon: 0.5 }, 'loss rdpo: epsilon must be in [0, 0.5), got 0.5'],
      [{ name: 'focal', gamma: -1 }, 'loss focal: gamma must be in [0, ∞), got -1'],
      [{ name: 'focal', gamma: '2' }, 'loss focal: gamma must be a number in [0, ∞), got "2"'],
      [{ name: 'zloss', b: Number.NaN }, 'loss zloss: b must be a number in (-∞, ∞), got NaN'],
      [{ name: 'gce', gamma: 1 }, "loss gce: unknown parameter 'gamma'; allowed parameters: q"],
      [{ name: 'ce', q: 1 }, "loss ce: unknown parameter 'q'; ce takes no parameters"],
      [
        { name: 'anyloss', metric: 'auc' },
        'loss anyloss: metric must be one of f1, accuracy, balanced_accuracy, gmean, got "auc"',
      ],
      [{ name: 'aldr', alpha: 0.5 }, 'loss aldr: alpha must be in [1, ∞), got 0.5'],
    ];
    for (const [spec, message] of cases) {
      assert.throws(
        () => resolveLoss(spec),
        (err: unknown) => err instanceof LossConfigError && err.message === message,
        message,
      );
    }
    assert.throws(() => createLoss({ name: 'gce', q: 2 }), LossConfigError);
    assert.throws(() => resolveLoss(42 as unknown as string), /a loss spec is a loss name or \{ name, \.\.\.params \}/);
  });

  it('computeLoss: missing and ill-shaped inputs name the loss and the input', async () => {
    const expectReject = (p: Promise<number>, pattern: RegExp) =>
      assert.rejects(p, (err: unknown) => err instanceof LossConfigError && pattern.test(err.message));
    await expectReject(computeLoss('ce', {}, { logits: H }), /^loss ce: missing input 'labels'$/);
    await expectReject(
      computeLoss('ce', {}, { logits: H, labels: [3] }),
      /^loss ce: input 'labels' must be an array of 1 integers in \[0, 2\], got \[3\]$/,
    );
    await expectReject(computeLoss('ce', {}, { logits: H, labels: [0, 1] }), /^loss ce: input 'labels'/);
    await expectReject(computeLoss('ce', {}, { logits: [[1, 2], [3]], labels: [0, 0] }), /^loss ce: input 'logits'/);
    await expectReject(computeLoss('ce', {}, { logits: [[1], [2]], labels: [0, 0] }), /^loss ce: input 'logits'/);
    await expectReject(
      computeLoss('gfl', {}, { logits: H, labels: Y, likelihoods: [1.5] }),
      /^loss gfl: input 'likelihoods'/,
    );
    await expectReject(
      computeLoss('bias', {}, { logits: H, labels: Y, features: [[1], [2]] }),
      /^loss bias: input 'features'/,
    );
    await expectReject(
      computeLoss('fairreg', {}, { logits: H, labels: Y, groups: [] }),
      /^loss fairreg: input 'groups'/,
    );
    await expectReject(computeLoss('anyloss', {}, { probs: [0.2], labels: [2] }), /^loss anyloss: input 'labels'/);
    await expectReject(
      computeLoss('prototriplet', {}, { queries: [[0, 0]], prototypes: [[1, 1, 1]], labels: [0] }),
      /^loss prototriplet: input 'prototypes'/,
    );
    await expectReject(computeLoss('rdpo', {}, { margins: [] }), /^loss rdpo: input 'margins'/);
    await expectReject(
      computeLoss('gce', { q: 3 }, { logits: H, labels: Y }),
      /^loss gce: q must be in \(0, 1\], got 3$/,
    );
    await expectReject(computeLoss('softmax', {}, {}), /^unknown loss 'softmax'/);
  });

  it('compute on tensors checks presence and rank', () => {
    const loss = createLoss('tcm');
    assert.throws(
      () => loss.compute({ labels: tf.tensor1d([0], 'int32') }),
      /^LossConfigError: loss tcm: missing input 'embeddings'$/,
    );
    assert.throws(
      () => tf.tidy(() => createLoss('ce').compute({ logits: tf.tensor1d([1, 2]), labels: tf.tensor1d([0], 'int32') })),
      /^LossConfigError: loss ce: input 'logits' must have rank 2, got shape \[2\]$/,
    );
  });

  it('computeLoss keeps the backend and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    await computeLoss('ms', {}, { embeddings: matrix(rng(5), 6, 3), labels: [0, 0, 1, 1, 2, 2] });
    await computeLoss('aldr', {}, { logits: H, labels: Y });
    await assert.rejects(computeLoss('ce', {}, { logits: H, labels: [9] }));
    assert.equal(tf.memory().numTensors, before);
    assert.equal(tf.getBackend(), 'cpu');
  });
});
