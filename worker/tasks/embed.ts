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
 * `val_recall_at_1` (max): `embedTask.defaultObjective`.
 *
 * Checkpoints (every `checkpointEvery` epochs) hold the weights, the optimizer state and the
 * training RNG's position, so a resumed attempt continues exactly where the checkpointed one was.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { Objective, TrialConfig } from '../../shared/spec/schema.js';
import { datasetShape, datasetSpecProblems } from '../data/datasets.js';
import { loadDataset, type DataSplit } from '../data/load.js';
import { Rng } from '../data/rng.js';
import { createLoss, LossConfigError, resolveLoss, type LossInstance, type LossSpec } from '../losses/index.js';
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
  intOption,
  lossName,
  makeOptimizer,
  minimizeWithDecay,
  modelSpecOf,
  restoreModelCheckpoint,
  resumeTraining,
  saveModelCheckpoint,
  trainingInfo,
  unknownOptions,
} from './training.js';

// Formerly defined here; kept as exports of this module.
export { intOption, makeOptimizer, restoreModelCheckpoint, saveModelCheckpoint, unknownOptions } from './training.js';

export const EMBED_LOSSES = ['ms', 'tcm', 'prototriplet'] as const;
export type EmbedLossName = (typeof EMBED_LOSSES)[number];

export const DEFAULT_EMBEDDING_DIM = 32;
export const DEFAULT_EMBED_DATASET = 'optdigits';
export const EMBED_DEFAULT_OBJECTIVE: Objective = { metric: 'val_recall_at_1', mode: 'max' };

const CHECKPOINT_FORMAT = 'trellis.embed/1';
const EVAL_CHUNK = 1024;

// ---------------------------------------------------------------------------------------------
// Options.

export interface EmbedOptions {
  classesPerBatch: number;
  perClass: number;
  /** Class values (label values) removed from the training split. */
  heldOutClasses: Array<number | string>;
  ways: number;
  shots: number;
  /** Queries per class per episode (fewer when a class has fewer examples left). */
  queries: number;
  episodes: number;
}

export const DEFAULT_EMBED_OPTIONS: EmbedOptions = {
  classesPerBatch: 8,
  perClass: 4,
  heldOutClasses: [],
  ways: 5,
  shots: 5,
  queries: 15,
  episodes: 100,
};

/** `embed`'s options with defaults filled; problems as `trial.options.NAME: message`. */
export function parseEmbedOptions(raw: Record<string, unknown> | undefined, problems: string[] = []): EmbedOptions {
  const options = raw ?? {};
  const d = DEFAULT_EMBED_OPTIONS;
  unknownOptions(options, Object.keys(d), 'embed', problems);
  let heldOutClasses: Array<number | string> = [];
  const held = options.heldOutClasses;
  if (held !== undefined) {
    if (!Array.isArray(held) || held.some((c) => typeof c !== 'number' && typeof c !== 'string')) {
      problems.push(
        `trial.options.heldOutClasses: must be a list of class values (numbers or strings), got ${JSON.stringify(held)}`,
      );
    } else heldOutClasses = [...(held as Array<number | string>)];
  }
  return {
    classesPerBatch: intOption(options, 'classesPerBatch', d.classesPerBatch, 2, 4096, problems),
    perClass: intOption(options, 'perClass', d.perClass, 2, 4096, problems),
    heldOutClasses,
    ways: intOption(options, 'ways', d.ways, 2, 4096, problems),
    shots: intOption(options, 'shots', d.shots, 1, 4096, problems),
    queries: intOption(options, 'queries', d.queries, 1, 1_000_000, problems),
    episodes: intOption(options, 'episodes', d.episodes, 1, 1_000_000, problems),
  };
}

/** `embed`'s config checks (no file access). */
export function validateEmbedConfig(config: TrialConfig): string[] {
  const problems: string[] = [];
  const dataset = config.dataset ?? DEFAULT_EMBED_DATASET;
  const datasetOk = datasetSpecProblems(dataset).length === 0;
  for (const p of datasetSpecProblems(dataset)) problems.push(`trial.dataset: ${p}`);
  if (config.model?.type === 'cnn' && datasetOk && !datasetShape(dataset)) {
    problems.push('trial.model.type: cnn needs an image shape; give dataset.shape');
  }
  const name = lossName(config.loss);
  if (!(EMBED_LOSSES as readonly string[]).includes(name)) {
    problems.push(`trial.loss: task embed needs an embedding loss (${EMBED_LOSSES.join(', ')}), got ${name}`);
  } else {
    try {
      resolveLoss(config.loss as LossSpec);
    } catch (err) {
      if (err instanceof LossConfigError) problems.push(`trial.loss: ${err.message}`);
      else throw err;
    }
  }
  parseEmbedOptions(config.options, problems);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Retrieval metrics on plain arrays (row-major embeddings [n, dim]).

/**
 * Per-row nearest-neighbour credit: 1 when the nearest other row (squared Euclidean distance,
 * i.e. cosine for L2-normalised rows) has the row's label, 0 when not; when several rows tie for
 * nearest, the fraction of them with the row's label (the expected hit under random tie-breaking).
 * A row with no other row gets NaN.
 */
export function nearestNeighbourHits(
  embeddings: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
): Float64Array {
  const n = labels.length;
  if (embeddings.length !== n * dim)
    throw new RangeError(`nearestNeighbourHits: ${embeddings.length} values for ${n} rows of ${dim}`);
  const hits = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let tied = 0;
    let same = 0;
    const oi = i * dim;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const oj = j * dim;
      let dist = 0;
      for (let k = 0; k < dim; k++) {
        const diff = embeddings[oi + k]! - embeddings[oj + k]!;
        dist += diff * diff;
      }
      if (dist < best) {
        best = dist;
        tied = 1;
        same = labels[j] === labels[i] ? 1 : 0;
      } else if (dist === best) {
        tied++;
        if (labels[j] === labels[i]) same++;
      }
    }
    hits[i] = tied > 0 ? same / tied : NaN;
  }
  return hits;
}

/** Recall@1: mean nearest-neighbour credit over the rows (optionally only rows where `include`). */
export function recallAt1(
  embeddings: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
  include?: (row: number) => boolean,
): number {
  const hits = nearestNeighbourHits(embeddings, labels, dim);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < hits.length; i++) {
    if (include && !include(i)) continue;
    if (Number.isNaN(hits[i]!)) continue;
    sum += hits[i]!;
    count++;
  }
  return count > 0 ? sum / count : NaN;
}

export interface FewShotOptions {
  ways: number;
  shots: number;
  /** Queries per class per episode (capped by the examples the class has after its shots). */
  queries: number;
  episodes: number;
  seed: number;
  /** Only these classes take part (default: all labels present). */
  classes?: readonly number[];
}

export interface FewShotResult {
  /** Mean credit over all queries of all episodes. */
  accuracy: number;
  episodes: number;
  ways: number;
  queries: number;
}

/**
 * N-way K-shot episodes: per episode `ways` classes are drawn (among those with more than `shots`
 * examples); per class a random `shots` examples form the support, whose mean embedding is the
 * prototype, and up to `queries` other examples are queries; each query is classified by its
 * nearest prototype (squared Euclidean; a tie of t prototypes including the right one scores
 * 1/t). Seeded by `seed` (stream `fewshot`). `undefined` when fewer than 2 classes are eligible;
 * with fewer than `ways` eligible classes every episode uses all of them (reported in `ways`).
 */
export function fewShotAccuracy(
  embeddings: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
  options: FewShotOptions,
): FewShotResult | undefined {
  const n = labels.length;
  if (embeddings.length !== n * dim)
    throw new RangeError(`fewShotAccuracy: ${embeddings.length} values for ${n} rows of ${dim}`);
  const allowed = options.classes ? new Set(options.classes) : undefined;
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (allowed && !allowed.has(y)) continue;
    const list = members.get(y);
    if (list) list.push(i);
    else members.set(y, [i]);
  }
  const eligible = [...members.entries()]
    .filter(([, rows]) => rows.length > options.shots)
    .map(([y]) => y)
    .sort((a, b) => a - b);
  if (eligible.length < 2) return undefined;
  const ways = Math.min(options.ways, eligible.length);
  const rng = Rng.create(options.seed, 'fewshot');
  const protos = new Float64Array(ways * dim);
  const dists = new Float64Array(ways);
  let credit = 0;
  let total = 0;
  for (let e = 0; e < options.episodes; e++) {
    const picked = rng.permutation(eligible.length).subarray(0, ways);
    const queryRows: number[][] = [];
    protos.fill(0);
    for (let w = 0; w < ways; w++) {
      const rows = members.get(eligible[picked[w]!]!)!;
      const order = rng.permutation(rows.length);
      for (let s = 0; s < options.shots; s++) {
        const o = rows[order[s]!]! * dim;
        for (let k = 0; k < dim; k++) protos[w * dim + k]! += embeddings[o + k]!;
      }
      for (let k = 0; k < dim; k++) protos[w * dim + k]! /= options.shots;
      const q = Math.min(options.queries, rows.length - options.shots);
      queryRows.push(Array.from(order.subarray(options.shots, options.shots + q), (r) => rows[r]!));
    }
    for (let w = 0; w < ways; w++) {
      for (const row of queryRows[w]!) {
        const o = row * dim;
        let best = Infinity;
        for (let c = 0; c < ways; c++) {
          let dist = 0;
          for (let k = 0; k < dim; k++) {
            const diff = embeddings[o + k]! - protos[c * dim + k]!;
            dist += diff * diff;
          }
          dists[c] = dist;
          if (dist < best) best = dist;
        }
        let tied = 0;
        for (let c = 0; c < ways; c++) if (dists[c] === best) tied++;
        if (dists[w] === best) credit += 1 / tied;
        total++;
      }
    }
  }
  return { accuracy: total > 0 ? credit / total : NaN, episodes: options.episodes, ways, queries: total };
}

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
  if (problems.length > 0) throw new PermanentRunError(problems.join('; '));
  const options = parseEmbedOptions(config.options);
  const lossKind = lossName(config.loss) as EmbedLossName;

  const data = loadDataset({ ...config, dataset: config.dataset ?? DEFAULT_EMBED_DATASET }, ctx.seed);
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

export const embedTask: Task & { defaultObjective: Objective } = {
  name: 'embed',
  description:
    'Metric learning: an L2-normalised embedding network trained with ms, ms + tcm or prototriplet; recall@1 and few-shot accuracy',
  run: runEmbed,
  validate: validateEmbedConfig,
  defaultObjective: EMBED_DEFAULT_OBJECTIVE,
};
