/**
 * The `mlff-train` stage: trains the MLFF (model.ts) on accurate or cheap frames with the
 * ASTEROID losses (losses.ts), resumable from `ctx.checkpoint`. See stages.ts for the options.
 */
import type * as tfNs from '@tensorflow/tfjs';
import type { AttemptContext } from '../../runtimes/base.js';
import { PermanentRunError } from '../../runtimes/base.js';
import { flatten3, mixSeed, Rng, type Frames } from './system.js';
import {
  createModel,
  DEFAULT_MLFF_CONFIG,
  energyAndForces,
  forces as modelForces,
  getWeights,
  initWeights,
  outputBiasIndices,
  predict,
  validateWeights,
  type MlffConfig,
  type MlffWeights,
  type TF,
} from './model.js';
import { energyForceLoss, maes, probeVectors, scoreMatchingLoss } from './losses.js';
import { framesHash, heldOutFrames, speciesOf, trainFrames } from './data.js';
import { checkStopped, STAGE_DEFAULTS, systemOf, trialSetting, type TrainOptions } from './options.js';

interface ResumeState {
  epoch: number;
  weights: MlffWeights;
  optimizer: { name: string; shape: number[]; values: number[] }[];
}

function clipByGlobalNorm(tf: TF, grads: tfNs.NamedTensorMap, maxNorm: number): tfNs.NamedTensorMap {
  if (!(maxNorm > 0)) return grads;
  const names = Object.keys(grads);
  const norm = tf.tidy(() => Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!)))).dataSync()[0]!));
  if (!(norm > maxNorm)) return grads;
  const scale = maxNorm / norm;
  const out: tfNs.NamedTensorMap = {};
  for (const n of names) {
    out[n] = tf.mul(grads[n]!, scale);
    grads[n]!.dispose();
  }
  return out;
}

/** Model config for a system: its atom count and elements; molecules get a finer, shorter basis. */
function modelConfig(opts: TrainOptions, system: { atoms: number; species?: number[] }): MlffConfig {
  return {
    ...DEFAULT_MLFF_CONFIG,
    atoms: system.atoms,
    // Molecules: bonds from 0.9 Å, the whole molecule within 4 Å; atomic energies ×10, so the
    // initial forces are of the size of real ones (tens of kcal/(mol·Å)).
    ...(system.species ? { species: system.species, muMin: 0.7, muMax: 4, energyScale: 10 } : {}),
    ...(opts.model?.basis ? { basis: opts.model.basis } : {}),
    ...(opts.model?.hidden ? { hidden: opts.model.hidden } : {}),
    ...(opts.model?.cutoff ? { cutoff: opts.model.cutoff } : {}),
    ...(opts.model?.muMin ? { muMin: opts.model.muMin } : {}),
    ...(opts.model?.muMax ? { muMax: opts.model.muMax } : {}),
  };
}

export interface TrainOutcome {
  metrics: Record<string, number>;
  weights: MlffWeights;
  info: Record<string, unknown>;
}

/** Energies [n] predicted by `weights` for `frames` (teacher pseudo-labels). */
export function predictWith(
  tf: TF,
  weights: MlffWeights,
  positions: number[][][],
): { energies: number[]; forces: number[][][] } {
  const model = createModel(tf, weights);
  try {
    return predict(tf, model, positions);
  } finally {
    model.dispose();
  }
}

/** The `mlff-train` stage on parsed options (exported for tests and the arms runner). */
export async function trainMlff(tf: TF, ctx: AttemptContext, opts: TrainOptions): Promise<TrainOutcome> {
  const started = Date.now();
  const sys = systemOf(opts, ctx);
  const seed = opts.seed ?? ctx.seed;
  const defaults = STAGE_DEFAULTS[opts.data];
  const nFrames = opts.frames ?? defaults.frames;
  const epochs = opts.epochs ?? trialSetting(ctx, 'epochs', defaults.epochs);
  const lr = opts.lr ?? trialSetting(ctx, 'lr', defaults.lr);
  const batchSize = Math.min(nFrames, opts.batchSize ?? trialSetting(ctx, 'batchSize', defaults.batchSize));
  const scoreMatching = opts.pretrainLoss === 'score-matching';

  if (opts.weights && opts.weights.length !== nFrames) {
    throw new PermanentRunError(`mlff-train: options.weights has ${opts.weights.length} entries for ${nFrames} frames`);
  }
  if (opts.energyLabels === 'teacher' && !opts.teacherWeights) {
    throw new PermanentRunError('mlff-train: energyLabels "teacher" needs options.teacherWeights');
  }
  const system = speciesOf(sys);
  const atoms = system.atoms;
  const sameSystem = (w: MlffWeights): boolean =>
    w.config.atoms === atoms && JSON.stringify(w.config.species ?? null) === JSON.stringify(system.species ?? null);
  if (opts.init && !sameSystem(opts.init)) {
    throw new PermanentRunError(
      `mlff-train: options.init was trained for another system (${opts.init.config.atoms} atoms), not this one (${atoms} atoms)`,
    );
  }

  const train = trainFrames(sys, opts.data, nFrames);
  const hash = framesHash(train);
  if (opts.framesHash !== undefined && opts.framesHash !== hash) {
    throw new PermanentRunError(
      `mlff-train: regenerated frames (hash ${hash}) differ from the ones the weights were computed on (${opts.framesHash}); use the same dataSeed, atoms, temperature and frames`,
    );
  }
  const val = heldOutFrames(sys, 'val');
  const test = heldOutFrames(sys, 'test');

  let energyTargets = train.energies;
  if (opts.energyLabels === 'teacher') {
    if (!sameSystem(opts.teacherWeights!))
      throw new PermanentRunError('mlff-train: teacherWeights were trained for another system');
    energyTargets = predictWith(tf, opts.teacherWeights!, train.positions).energies;
  }

  const config = opts.init ? opts.init.config : modelConfig(opts, system);
  const shift = energyTargets.reduce((a, b) => a + b, 0) / (energyTargets.length * atoms);
  let weights = opts.init ?? initWeights(config, mixSeed(seed, 101), shift);
  let resume: ResumeState | undefined;
  const saved = await ctx.checkpoint.load();
  if (saved) {
    try {
      resume = JSON.parse(saved.data.toString('utf8')) as ResumeState;
      weights = validateWeights(resume.weights);
      if (!Number.isInteger(resume.epoch) || !Array.isArray(resume.optimizer))
        throw new Error('missing epoch or optimizer state');
    } catch (err) {
      ctx.log(`mlff-train: ignoring unreadable checkpoint (${(err as Error).message})`);
      resume = undefined;
      weights = opts.init ?? initWeights(config, mixSeed(seed, 101), shift);
    }
  }
  const model = createModel(tf, weights);
  const varList = model.vars;
  const optimizer = tf.train.adam(lr);
  const allR = tf.tensor3d(flatten3(train.positions), [nFrames, atoms, 3]);
  const allF = tf.tensor3d(flatten3(train.forces), [nFrames, atoms, 3]);
  const allE = tf.tensor1d(energyTargets);
  const allW = opts.weights ? tf.tensor1d(opts.weights) : undefined;
  const evaluate = (frames: Frames): { energy: number; force: number } =>
    maes(predict(tf, model, frames.positions), frames);

  let startEpoch = 1;
  let lastLoss = NaN;
  let lastVal = { energy: NaN, force: NaN };
  const checkpointEvery = ctx.config.checkpointEvery;
  let lastSave = Date.now();
  try {
    if (resume) {
      const opt = resume.optimizer.map((o) => ({ name: o.name, tensor: tf.tensor(o.values, o.shape) }));
      await optimizer.setWeights(opt);
      opt.forEach((o) => o.tensor.dispose());
      startEpoch = resume.epoch + 1;
      ctx.log(`mlff-train: resumed after epoch ${resume.epoch}`);
    } else if (!scoreMatching) {
      // Energies are only defined up to a constant by the forces (and ρ = 0.999 leaves the energy
      // term little pull), so start with the output bias at the median residual per atom: the
      // MAE-optimal constant. Forces are unaffected.
      const pred = predict(tf, model, train.positions).energies;
      const residuals = energyTargets.map((e, i) => e - pred[i]!).sort((a, b) => a - b);
      const mid = residuals.length >> 1;
      const median = residuals.length % 2 ? residuals[mid]! : (residuals[mid - 1]! + residuals[mid]!) / 2;
      // Every element's output bias moves by median/atoms, so each frame's energy moves by median.
      for (const i of outputBiasIndices(model.config)) {
        const bOut = model.vars[i]!;
        tf.tidy(() => bOut.assign(tf.add(bOut, median / atoms)));
      }
    }
    for (let epoch = startEpoch; epoch <= epochs; epoch++) {
      const order = new Rng(mixSeed(seed, 202, epoch)).shuffle(Array.from({ length: nFrames }, (_, i) => i));
      if (opts.schedule === 'cosine') {
        // Epoch 1 runs at lr, the last at lr/20 (a constant lr leaves the final weights noisy).
        const t = epochs > 1 ? (epoch - 1) / (epochs - 1) : 1;
        (optimizer as unknown as { learningRate: number }).learningRate =
          lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * t)));
      }
      let lossSum = 0;
      let count = 0;
      for (let start = 0; start < nFrames; start += batchSize) {
        checkStopped(ctx.signal);
        const idx = order.slice(start, start + batchSize);
        const b = idx.length;
        const lossValue = tf.tidy(() => {
          const ids = tf.tensor1d(idx, 'int32');
          const R = tf.gather(allR, ids);
          const probes = scoreMatching
            ? probeVectors(tf, opts.vectors, [b, atoms, 3], mixSeed(seed, 303, epoch, start))
            : undefined;
          const { value, grads } = tf.variableGrads(() => {
            if (probes)
              return scoreMatchingLoss(tf, (x) => modelForces(tf, model, x), R, {
                vectors: probes,
                temperature: opts.temperature,
              });
            const { energy, forces } = energyAndForces(tf, model, R);
            return energyForceLoss(tf, {
              predEnergy: energy,
              trueEnergy: tf.gather(allE, ids),
              predForces: forces,
              trueForces: tf.gather(allF, ids),
              ...(allW ? { weights: tf.gather(allW, ids) } : {}),
              rho: opts.rho,
            });
          }, varList);
          optimizer.applyGradients(
            clipByGlobalNorm(tf, grads, opts.clip) as unknown as Parameters<typeof optimizer.applyGradients>[0],
          );
          return value.dataSync()[0]!;
        });
        if (!Number.isFinite(lossValue)) throw new Error(`mlff-train: loss became ${lossValue} at epoch ${epoch}`);
        lossSum += lossValue * b;
        count += b;
        // Yield to the event loop so aborts and heartbeats get through.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      lastLoss = lossSum / count;
      lastVal = evaluate(val);
      ctx.report(epoch, { loss: lastLoss, val_force_mae: lastVal.force, val_energy_mae: lastVal.energy });
      const due =
        epoch === epochs || (epoch % checkpointEvery === 0 && Date.now() - lastSave >= opts.checkpointSeconds * 1000);
      if (checkpointEvery > 0 && due) {
        lastSave = Date.now();
        const optWeights = await optimizer.getWeights();
        const state: ResumeState = {
          epoch,
          weights: getWeights(model),
          optimizer: optWeights.map((w) => ({
            name: w.name,
            shape: w.tensor.shape,
            values: Array.from(w.tensor.dataSync()),
          })),
        };
        optWeights[0]?.tensor.dispose(); // the iteration count is a fresh scalar; the moments are the optimizer's own
        await ctx.checkpoint.save({ step: epoch, data: Buffer.from(JSON.stringify(state), 'utf8') });
      }
    }
    if (startEpoch > epochs) lastVal = evaluate(val);
    const testMae = evaluate(test);
    const finalWeights = getWeights(model);
    const metrics: Record<string, number> = {
      test_force_mae: testMae.force,
      test_energy_mae: testMae.energy,
      val_force_mae: lastVal.force,
      val_energy_mae: lastVal.energy,
    };
    if (Number.isFinite(lastLoss)) metrics.loss = lastLoss;
    return {
      metrics,
      weights: finalWeights,
      info: {
        data: opts.data,
        frames: nFrames,
        framesHash: hash,
        dataSeed: sys.dataSeed,
        epochs,
        lr,
        schedule: opts.schedule,
        batchSize,
        loss: scoreMatching ? 'score-matching' : 'energy-force',
        weighted: Boolean(opts.weights),
        energyLabels: opts.energyLabels,
        initialised: opts.init ? 'init' : 'scratch',
        system: sys.system,
        ...(Number.isFinite(train.acceptance) ? { mcAcceptance: train.acceptance } : {}),
        seconds: (Date.now() - started) / 1000,
      },
    };
  } finally {
    model.dispose();
    optimizer.dispose();
    allR.dispose();
    allF.dispose();
    allE.dispose();
    allW?.dispose();
  }
}
