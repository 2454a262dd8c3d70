/**
 * The element-aware MLFF and the molecular data set (the shipped ethanol set, PySCF labels):
 * per-element features, invariances, conservative forces, seeded splits, and a short training
 * run that beats the simple baseline (mean training energy, zero forces) on the accurate test set.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  createModel,
  DEFAULT_MLFF_CONFIG,
  energy,
  energyAndForces,
  features,
  heldOutFrames,
  initWeights,
  loadChemDataset,
  localContext,
  maes,
  paramShapes,
  parseBiasOptions,
  parseTrainOptions,
  estimateBias,
  SHIPPED_DATASETS,
  trainFrames,
  trainMlff,
  validateWeights,
  type MlffConfig,
  type SystemOptions,
} from '../../worker/tasks/mlff/index.js';
import { asteroidTemplate } from '../../coordinator/pipelines/templates/asteroid.js';
import { validatePipeline } from '../../coordinator/experiments/validate.js';

const ETHANOL = [6, 6, 8, 1, 1, 1, 1, 1, 1];
const config: MlffConfig = {
  ...DEFAULT_MLFF_CONFIG,
  atoms: 9,
  species: ETHANOL,
  basis: 8,
  hidden: [16],
  muMin: 0.7,
  muMax: 4,
};
const ethanol = (dataSeed: number): SystemOptions => ({
  system: 'ethanol',
  atoms: 9,
  temperature: 500,
  dataSeed,
  valFrames: 10,
  testFrames: 40,
});

before(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
});

function energyOf(model: ReturnType<typeof createModel>, pos: number[][]): number {
  return tf.tidy(() => energy(tf, model, tf.tensor3d([pos])).dataSync()[0]!);
}

describe('element-aware MLFF', () => {
  const d = loadChemDataset(SHIPPED_DATASETS.ethanol!);
  const frame = d.levels.accurate.positions[0]!;

  it('has one MLP per element, and per-element channels that sum to the one-element features', () => {
    const shapes = paramShapes(config);
    assert.deepEqual(
      shapes.filter((s) => s.name.endsWith('bOut')).map((s) => s.name),
      ['Z1.bOut', 'Z6.bOut', 'Z8.bOut'],
    );
    assert.deepEqual(shapes[0], { name: 'Z1.w0', shape: [24, 16] }); // 8 basis × 3 neighbour elements
    const plain: MlffConfig = { ...config, species: undefined };
    delete plain.species;
    const [byElement, summed] = tf.tidy(() => {
      const R = tf.tensor3d([frame]);
      const g = features(tf, config, R).reshape([9, 3, 8]); // [atoms, element, basis]
      return [tf.sum(g, 1).arraySync() as number[][], (features(tf, plain, R).arraySync() as number[][][])[0]!];
    });
    byElement.forEach((row, a) => row.forEach((v, k) => assert.ok(Math.abs(v - summed[a]![k]!) < 1e-5)));
  });

  it('is invariant to swapping two hydrogens but not to swapping carbon and oxygen', () => {
    const model = createModel(tf, initWeights(config, 7, 0));
    try {
      const e0 = energyOf(model, frame);
      const swapH = frame.map((p) => [...p]);
      [swapH[4], swapH[5]] = [swapH[5]!, swapH[4]!];
      assert.ok(Math.abs(energyOf(model, swapH) - e0) < 1e-4);
      const swapCO = frame.map((p) => [...p]);
      [swapCO[1], swapCO[2]] = [swapCO[2]!, swapCO[1]!];
      assert.ok(Math.abs(energyOf(model, swapCO) - e0) > 1e-3, 'an element-blind model would not tell C from O');
      // Rotation about z and a translation.
      const c = Math.cos(0.7);
      const s = Math.sin(0.7);
      const moved = frame.map(([x, y, z]) => [c * x! - s * y! + 1.5, s * x! + c * y! - 2, z! + 0.3]);
      assert.ok(Math.abs(energyOf(model, moved) - e0) < 1e-3);
    } finally {
      model.dispose();
    }
  });

  it('forces are −∂E/∂R (central differences) and weights round-trip with species', () => {
    const w = validateWeights(JSON.parse(JSON.stringify(initWeights(config, 3, 0))));
    assert.deepEqual(w.config.species, ETHANOL);
    assert.throws(() => validateWeights({ ...w, config: { ...w.config, species: [6, 6] } }), /species/);
    const model = createModel(tf, w);
    try {
      const f = tf.tidy(() => energyAndForces(tf, model, tf.tensor3d([frame])).forces.arraySync() as number[][][])[0]!;
      const h = 1e-2;
      for (const [a, k] of [
        [0, 0],
        [2, 1],
        [3, 2],
        [8, 0],
      ] as const) {
        const p = frame.map((r) => [...r]);
        const m = frame.map((r) => [...r]);
        p[a]![k] = p[a]![k]! + h;
        m[a]![k] = m[a]![k]! - h;
        const fd = -(energyOf(model, p) - energyOf(model, m)) / (2 * h);
        assert.ok(
          Math.abs(fd - f[a]![k]!) < 2e-2 * Math.max(1, Math.abs(fd)),
          `atom ${a} dim ${k}: ${f[a]![k]} vs ${fd}`,
        );
      }
    } finally {
      model.dispose();
    }
  });
});

describe('ethanol data set and stages', () => {
  const d = loadChemDataset(SHIPPED_DATASETS.ethanol!);

  it('ships provenance and the two levels of theory', () => {
    assert.equal(d.molecule, 'ethanol');
    assert.deepEqual(d.atomicNumbers, ETHANOL);
    assert.deepEqual([d.levels.cheap.method, d.levels.cheap.basis], ['HF', 'sto-3g']);
    assert.deepEqual([d.levels.accurate.method, d.levels.accurate.basis], ['MP2', 'cc-pvdz']);
    assert.ok(d.levels.cheap.frames >= 1000, `${d.levels.cheap.frames} cheap frames`);
    // 40 test + 10 validation + a 200-frame budget (docs/reproductions.md).
    assert.ok(d.levels.accurate.frames >= 250, `${d.levels.accurate.frames} accurate frames`);
    assert.equal(
      new Set([...d.levels.cheap.hashes, ...d.levels.accurate.hashes]).size,
      d.levels.cheap.frames + d.levels.accurate.frames,
    );
  });

  it('rejects a malformed data set with a message naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-ds-'));
    const bad = join(dir, 'bad.json.gz');
    const broken = structuredClone(d) as unknown as { levels: { accurate: { forces: unknown[] } } };
    broken.levels.accurate.forces = broken.levels.accurate.forces.slice(1);
    writeFileSync(bad, gzipSync(JSON.stringify(broken)));
    assert.throws(() => loadChemDataset(bad), /levels\.accurate: positions, energies and forces/);
  });

  it('splits by seed: test and validation are disjoint from training and shared by every budget', () => {
    const test = heldOutFrames(ethanol(1), 'test');
    const small = trainFrames(ethanol(1), 'accurate', 25);
    const large = trainFrames(ethanol(1), 'accurate', 75);
    assert.equal(test.n, 40);
    assert.deepEqual(large.positions.slice(0, 25), small.positions);
    const key = (p: number[][]): string => JSON.stringify(p);
    const testKeys = new Set(test.positions.map(key));
    assert.ok(large.positions.every((p) => !testKeys.has(key(p))));
    assert.ok(heldOutFrames(ethanol(1), 'val').positions.every((p) => !testKeys.has(key(p))));
    assert.notDeepEqual(heldOutFrames(ethanol(2), 'test').positions, test.positions);
    assert.throws(() => trainFrames(ethanol(1), 'accurate', 10_000), /accurate frames/);
  });

  it('a short training run beats the baseline (mean energy, zero forces) on the accurate test set; bias weights are finite', async () => {
    const opts = parseTrainOptions({
      system: 'ethanol',
      seed: 1,
      data: 'accurate',
      frames: 25,
      epochs: 20,
      batchSize: 5,
      lr: 0.01,
    });
    const out = await trainMlff(tf, localContext('t', {}, 1).ctx, opts);
    const test = heldOutFrames(ethanol(1), 'test');
    const train = trainFrames(ethanol(1), 'accurate', 25);
    const meanE = train.energies.reduce((a, b) => a + b, 0) / train.n;
    const baseline = maes(
      { energies: test.energies.map(() => meanE), forces: test.forces.map((f) => f.map(() => [0, 0, 0])) },
      test,
    );
    assert.ok(
      out.metrics.test_force_mae! < 0.8 * baseline.force,
      `${out.metrics.test_force_mae} vs baseline ${baseline.force}`,
    );
    assert.deepEqual(out.weights.config.species, ETHANOL);
    assert.equal(out.weights.config.energyScale, 10);
    const bias = estimateBias(
      tf,
      localContext('b', {}, 1).ctx,
      parseBiasOptions({
        system: 'ethanol',
        seed: 1,
        frames: 50,
        teacherWeights: out.weights,
        gamma: 'median',
        normalizer: 'mean',
      }),
    );
    const w = bias.outputs.weights;
    assert.equal(w.length, 50);
    assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) / 50 - 1) < 1e-9, 'normalizer mean: weights average 1');
    const e = bias.outputs.e;
    const i = e.indexOf(Math.max(...e));
    const j = e.indexOf(Math.min(...e));
    assert.ok(w[i]! < w[j]!, 'the frame with the largest bias estimate gets the smallest weight');
  });

  it('the asteroid template expands ethanol (shipped or computed labels) and validates', () => {
    const stages = asteroidTemplate.expand({ system: 'ethanol', accurateFrames: 25 });
    assert.deepEqual(
      stages.map((s) => s.name),
      ['teacher', 'bias', 'pretrain', 'finetune', 'baseline', 'uniform-pretrain', 'uniform-finetune'],
    );
    const computed = asteroidTemplate.expand({ system: 'ethanol', labels: 'compute' });
    assert.deepEqual(
      computed.slice(0, 4).map((s) => s.name),
      ['sample', 'label-cheap', 'label-accurate', 'assemble'],
    );
    const teacher = computed.find((s) => s.name === 'teacher')!;
    assert.deepEqual(teacher.needs, ['assemble']);
    assert.equal(
      (teacher.params as { options: { dataset: string } }).options.dataset,
      '${stages.assemble.outputs.dataset}',
    );
    validatePipeline({
      apiVersion: 'trellis/v1',
      kind: 'Pipeline',
      name: 'e',
      template: 'asteroid',
      params: { system: 'ethanol', labels: 'compute' },
    });
    assert.throws(() => asteroidTemplate.expand({ system: 'morse-toy', labels: 'compute' }), /params\.labels/);
  });

  it('scoreMatchingArm adds score-matching pretrain → fine-tune beside the bias-aware arm', () => {
    const stages = asteroidTemplate.expand({ system: 'ethanol', accurateFrames: 25, scoreMatchingArm: true });
    const byName = new Map(stages.map((s) => [s.name as string, s]));
    assert.deepEqual(stages.map((s) => s.name).slice(-2), ['sm-pretrain', 'sm-finetune']);
    const options = (name: string) => (byName.get(name)!.params as { options: Record<string, unknown> }).options;
    assert.equal(options('sm-pretrain').pretrainLoss, 'score-matching');
    assert.equal(options('pretrain').pretrainLoss, undefined, 'the bias-aware arm is unchanged');
    assert.equal(options('sm-finetune').init, '${stages.sm-pretrain.outputs.checkpoint}');
    // The fine-tuning is the same training as the other arms' (data, budget, seed), from another start.
    const { init: _a, ...sm } = options('sm-finetune');
    const { init: _b, ...bias } = options('finetune');
    assert.deepEqual(sm, bias);
    assert.throws(
      () => asteroidTemplate.expand({ system: 'ethanol', pretrainLoss: 'score-matching', scoreMatchingArm: true }),
      /params\.scoreMatchingArm/,
    );
  });
});
