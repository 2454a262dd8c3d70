/**
 * `embed`: metric learning. An embedding network (the `classify` model family — linear, MLP or
 * CNN — whose output layer has `model.embedding` units, default 32) maps each example to an
 * L2-normalised vector, trained on a classification dataset (default the built-in `optdigits`)
 * with an embedding loss from `worker/losses`:
 *
 * - `ms`: multi-similarity loss on the batch's embeddings;
 * - `tcm`: the threshold-consistent margin loss is a regulariser, so it is added to `ms` as the
 *   base loss: L = ms (default params) + tcm (the spec's params);
 * - `prototriplet`: each batch is split per class into a support part (the first ⌊K/2⌋ of the
 *   class's K examples) and a query part (the rest); prototypes are the mean support embeddings
 *   per class, and the queries are the triplet anchors.
 *
 * Batches are P×K: `options.classesPerBatch` (P, default 8) distinct classes, `options.perClass`
 * (K, default 4) examples each, so every anchor has positives. An epoch is ⌈n / (P·K)⌉ batches;
 * within an epoch each class's examples are drawn without replacement from a shuffled queue
 * (reshuffled when used up). `trial.batchSize` is not used. All randomness comes from the seed.
 *
 * `options.heldOutClasses` (class values, default none) are removed from the training split only:
 * validation and test keep every class, and `*_unseen` metrics measure the held-out ones.
 *
 * Metrics: per epoch `loss` and `val_recall_at_1` (the nearest other validation embedding has the
 * same label); at the end `test_recall_at_1` and `test_fewshot_accuracy` (`options.episodes`
 * N-way K-shot episodes on the test split, N = `ways`, K = `shots`, up to `queries` queries per
 * class, each query classified by its nearest class prototype). The task's natural objective is
 * `val_recall_at_1` (max), the catalogue's default objective for `embed`.
 * Options and config checks: shared/catalogue/tasks/embed.ts; retrieval metrics: retrieval.ts.
 *
 * Checkpoints (every `checkpointEvery` epochs) hold the weights, the optimizer state and the
 * training RNG's position, so a resumed attempt continues exactly where the checkpointed one was.
 */
import type * as tfType from '@tensorflow/tfjs';
import { lossName } from '../../shared/catalogue/tasks/base.js';
import {
  DEFAULT_EMBED_DATASET,
  parseEmbedOptions,
  validateEmbedConfig,
  type EmbedLossName,
} from '../../shared/catalogue/tasks/embed.js';
import { loadDataset, type DataSplit } from '../data/load.js';
import { fewShotAccuracy, recallAt1 } from './retrieval.js';
import { createLoss, LossConfigError, type LossInstance, type LossSpec } from '../losses/index.js';
import { PermanentRunError, type AttemptContext, type RunResult } from '../runtimes/base.js';
import { throwIfStopped, type Task, type TaskBackend } from './base.js';
import type { Model } from './models.js';
import {
  addAndDispose,
  batchBoundary,
  buildTaskModel,
  checkDiverged,
  finishEpoch,
  cnnInputShape,
  makeOptimizer,
  minimizeWithDecay,
  modelSpecOf,
  restoreModelCheckpoint,
  resumeTraining,
  saveModelCheckpoint,
  trainingInfo,
} from './training.js';

export const DEFAULT_EMBEDDING_DIM = 32;

const CHECKPOINT_FORMAT = 'trellis.embed/1';
const EVAL_CHUNK = 1024;

// ---------------------------------------------------------------------------------------------
// The task.

function l2Normalize(tf: typeof tfType, x: tfType.Tensor2D): tfType.Tensor2D {
  return tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1, true), 1e-12))) as tfType.Tensor2D;
}

/** L2-normalised embeddings of a split, row-major [size, dim]. */
async function embedSplit(
  tf: typeof tfType,
  model: Model,
  split: DataSplit,
  numFeatures: number,
  dim: number,
): Promise<Float32Array> {
  const out = new Float32Array(split.size * dim);
  for (let start = 0; start < split.size; start += EVAL_CHUNK) {
    const end = Math.min(split.size, start + EVAL_CHUNK);
    const e = tf.tidy(() => {
      const x = tf.tensor2d(split.x.subarray(start * numFeatures, end * numFeatures), [end - start, numFeatures]);
      return l2Normalize(tf, model.apply(x).logits);
    });
    out.set((await e.data()) as Float32Array, start * dim);
    e.dispose();
  }
  return out;
}

/** Class indices of `heldOutClasses` (class values as in the label column). */
function heldOutIndices(values: Array<number | string>, classes: string[], dataset: string): Set<number> {
  const lookup = new Map(classes.map((c, i) => [c, i]));
  const out = new Set<number>();
  for (const value of values) {
    const raw = String(value);
    const index = lookup.get(raw) ?? lookup.get(String(Number(raw)));
    if (index === undefined) {
      throw new PermanentRunError(
        `trial.options.heldOutClasses: ${JSON.stringify(value)} is not a class of ${dataset} (classes: ${classes.join(', ')})`,
      );
    }
    out.add(index);
  }
  return out;
}

export async function runEmbed(ctx: AttemptContext, backend: TaskBackend): Promise<RunResult> {
  const { tf } = backend;
  const config = ctx.config;
  const started = Date.now();
  const problems = validateEmbedConfig(config);
  // Checked again without skipping `${...}`: the references in options are resolved by now.
  const options = parseEmbedOptions(config.options, problems);
  if (problems.length > 0) throw new PermanentRunError([...new Set(problems)].join('; '));
  const lossKind = lossName(config.loss) as EmbedLossName;

  const data = loadDataset({ ...config, dataset: config.dataset ?? DEFAULT_EMBED_DATASET }, ctx.seed, ctx.limits?.data);
  const d = data.numFeatures;
  const modelSpec = modelSpecOf(config);
  const dim = modelSpec.embedding ?? DEFAULT_EMBEDDING_DIM;
  const shape = cnnInputShape(modelSpec, data.shape, d);

  const heldOut = heldOutIndices(options.heldOutClasses, data.classes, data.name);
  // Training classes: not held out, with at least 2 examples (an anchor needs a positive).
  const train = data.train;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < train.size; i++) {
    const y = train.y[i]!;
    if (heldOut.has(y)) continue;
    const list = byClass.get(y);
    if (list) list.push(i);
    else byClass.set(y, [i]);
  }
  const trainClasses = [...byClass.keys()].filter((y) => byClass.get(y)!.length >= 2).sort((a, b) => a - b);
  if (trainClasses.length < 2) {
    throw new PermanentRunError(
      `trial.options.heldOutClasses: training needs at least 2 classes with 2 or more examples; ${data.name} has ${trainClasses.length} left`,
    );
  }
  const trainRows = trainClasses.reduce((sum, y) => sum + byClass.get(y)!.length, 0);
  const P = Math.min(options.classesPerBatch, trainClasses.length);
  const K = options.perClass;
  const batchRows = P * K;
  const batchesPerEpoch = Math.max(1, Math.ceil(trainRows / batchRows));
  const support = Math.max(1, Math.floor(K / 2));
  const queriesPerClass = K - support;

  let loss: LossInstance;
  let base: LossInstance | undefined;
  try {
    loss = createLoss(config.loss as LossSpec);
    if (lossKind === 'tcm') base = createLoss('ms');
  } catch (err) {
    if (err instanceof LossConfigError) throw new PermanentRunError(`trial.loss: ${err.message}`);
    throw err;
  }

  const model = buildTaskModel(backend, modelSpec, d, dim, shape, ctx.seed);
  const optimizer = makeOptimizer(tf, config);
  const fingerprint = JSON.stringify({
    optimizer: config.optimizer,
    loss: config.loss,
    classesPerBatch: options.classesPerBatch,
    perClass: options.perClass,
    heldOutClasses: [...heldOut].sort((a, b) => a - b),
  });
  const epochTimes: number[] = [];
  let resumedFrom: number | undefined;
  let untrainedValRecall: number | undefined;
  const valUnseen = (row: number): boolean => heldOut.has(data.validation.y[row]!);
  const testUnseen = (row: number): boolean => heldOut.has(data.test.y[row]!);

  try {
    const start = await resumeTraining(ctx, 'embed', (saved) =>
      restoreModelCheckpoint(tf, saved, CHECKPOINT_FORMAT, fingerprint, model, optimizer),
    );
    const { rng, startEpoch } = start;
    resumedFrom = start.resumedFrom;
    if (resumedFrom === undefined && data.validation.size > 1) {
      untrainedValRecall = recallAt1(await embedSplit(tf, model, data.validation, d, dim), data.validation.y, dim);
    }

    const weightDecay = config.weightDecay;
    const xBatch = new Float32Array(batchRows * d);
    const yBatch = new Int32Array(batchRows);
    const protoLabels = new Int32Array(P * queriesPerClass);
    for (let p = 0; p < P; p++) protoLabels.fill(p, p * queriesPerClass, (p + 1) * queriesPerClass);

    for (let epoch = startEpoch; epoch <= config.epochs; epoch++) {
      const epochStart = Date.now();
      // Per-class queues for this epoch (drawn from the RNG, so a checkpoint's RNG state suffices).
      const queues = trainClasses.map((y) => ({
        rows: byClass.get(y)!,
        order: rng.permutation(byClass.get(y)!.length),
        next: 0,
      }));
      let lossSum: tfType.Scalar = tf.scalar(0);
      for (let batch = 0; batch < batchesPerEpoch; batch++) {
        await batchBoundary(ctx, epoch);
        const picked = rng.permutation(trainClasses.length).subarray(0, P);
        for (let p = 0; p < P; p++) {
          const queue = queues[picked[p]!]!;
          for (let k = 0; k < K; k++) {
            if (queue.next >= queue.order.length) {
              queue.order = rng.permutation(queue.rows.length);
              queue.next = 0;
            }
            const row = queue.rows[queue.order[queue.next++]!]!;
            const at = p * K + k;
            xBatch.set(train.x.subarray(row * d, row * d + d), at * d);
            yBatch[at] = train.y[row]!;
          }
        }
        const dropoutSeed = rng.uint32();
        const batchLoss = tf.tidy(() => {
          const x = tf.tensor2d(xBatch, [batchRows, d]);
          const y = tf.tensor1d(yBatch, 'int32');
          let value: tfType.Scalar | undefined;
          minimizeWithDecay(tf, optimizer, model, weightDecay, () => {
            const e = l2Normalize(tf, model.apply(x, { training: true, seed: dropoutSeed }).logits);
            let l: tfType.Scalar;
            if (lossKind === 'prototriplet') {
              const grouped = e.reshape([P, K, dim]);
              const prototypes = tf.mean(grouped.slice([0, 0, 0], [P, support, dim]), 1) as tfType.Tensor2D;
              const queries = grouped
                .slice([0, support, 0], [P, queriesPerClass, dim])
                .reshape([P * queriesPerClass, dim]);
              l = loss.compute({ queries, prototypes, labels: tf.tensor1d(protoLabels, 'int32') });
            } else {
              l = loss.compute({ embeddings: e, labels: y });
              if (base) l = tf.add(base.compute({ embeddings: e, labels: y }), l) as tfType.Scalar;
            }
            value = tf.keep(l.clone());
            return l;
          });
          return value!;
        });
        lossSum = addAndDispose(tf, lossSum, batchLoss);
      }
      const trainLoss = (await lossSum.data())[0]! / batchesPerEpoch;
      lossSum.dispose();
      checkDiverged(trainLoss, epoch);
      const metrics: Record<string, number> = { loss: trainLoss };
      if (data.validation.size > 1) {
        const val = await embedSplit(tf, model, data.validation, d, dim);
        metrics.val_recall_at_1 = recallAt1(val, data.validation.y, dim);
        if (heldOut.size > 0) {
          const unseen = recallAt1(val, data.validation.y, dim, valUnseen);
          if (Number.isFinite(unseen)) metrics.val_recall_at_1_unseen = unseen;
        }
      }
      await finishEpoch(ctx, epoch, metrics, epochTimes, epochStart, () =>
        saveModelCheckpoint(ctx, CHECKPOINT_FORMAT, fingerprint, model, optimizer, rng, epoch),
      );
    }

    throwIfStopped(ctx.signal, 'before the final evaluation');
    const metrics: Record<string, number> = {};
    const info: Record<string, unknown> = {};
    if (data.test.size > 1) {
      const test = await embedSplit(tf, model, data.test, d, dim);
      metrics.test_recall_at_1 = recallAt1(test, data.test.y, dim);
      const fewShotOptions = {
        ways: options.ways,
        shots: options.shots,
        queries: options.queries,
        episodes: options.episodes,
        seed: ctx.seed,
      };
      const fewShot = fewShotAccuracy(test, data.test.y, dim, fewShotOptions);
      if (fewShot) {
        metrics.test_fewshot_accuracy = fewShot.accuracy;
        info.fewShot = {
          ways: fewShot.ways,
          shots: options.shots,
          episodes: fewShot.episodes,
          queries: fewShot.queries,
        };
      }
      if (heldOut.size > 0) {
        metrics.test_recall_at_1_unseen = recallAt1(test, data.test.y, dim, testUnseen);
        const unseen = fewShotAccuracy(test, data.test.y, dim, { ...fewShotOptions, classes: [...heldOut] });
        if (unseen) metrics.test_fewshot_accuracy_unseen = unseen.accuracy;
      }
    }
    for (const [key, value] of Object.entries(metrics)) if (!Number.isFinite(value)) delete metrics[key];
    return {
      metrics,
      info: {
        backend: backend.name,
        task: 'embed',
        dataset: data.name,
        loss: lossKind,
        ...(base ? { lossTerms: ['ms', 'tcm'] } : {}),
        embedding: dim,
        model: modelSpec.type,
        params: model.params,
        classesPerBatch: P,
        perClass: K,
        ...(lossKind === 'prototriplet' ? { supportPerClass: support } : {}),
        batchesPerEpoch,
        heldOutClasses: [...heldOut].sort((a, b) => a - b).map((c) => data.classes[c]!),
        trainClasses: trainClasses.length,
        trainSize: trainRows,
        valSize: data.validation.size,
        testSize: data.test.size,
        droppedRows: data.droppedRows,
        flippedLabels: data.flippedLabels,
        ...info,
        ...(untrainedValRecall !== undefined ? { untrainedValRecallAt1: untrainedValRecall } : {}),
        ...trainingInfo(epochTimes, resumedFrom, started),
      },
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

export const embedTask: Task = { name: 'embed', run: runEmbed };
