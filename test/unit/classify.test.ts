import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { projectRoot } from '../../shared/paths.js';
import { trialSchema, type TrialConfig } from '../../shared/spec/schema.js';
import {
  PermanentRunError,
  StoppedError,
  type AttemptContext,
  type Checkpoint,
  type RunResult,
} from '../../worker/runtimes/base.js';
import { selectBackend, type Backend } from '../../worker/runtimes/tfjs/backend.js';
import { decodeCheckpoint, encodeCheckpoint, type TensorRecord } from '../../worker/runtimes/tfjs/checkpoint.js';
import { tfjsRuntime } from '../../worker/runtimes/tfjs/runtime.js';
import { getBuiltinDataset, registerBuiltinDataset } from '../../worker/data/datasets.js';
import { Rng } from '../../worker/data/rng.js';
import { buildModel } from '../../worker/tasks/models.js';
import { getTask } from '../../worker/tasks/registry.js';
import { taskNames, validateTaskConfig } from '../../shared/catalogue/tasks/index.js';

process.env.TRELLIS_TF_BACKEND = 'wasm';

const root = projectRoot();

/** An in-memory checkpoint store that keeps every saved checkpoint. */
class MemoryCheckpoints {
  saved: Checkpoint[] = [];
  latest(): Checkpoint | undefined {
    return this.saved.at(-1);
  }
}

interface Harness {
  ctx: AttemptContext;
  reports: Array<{ step: number; metrics: Record<string, number> }>;
  logs: string[];
  controller: AbortController;
}

function makeContext(
  config: TrialConfig,
  options: {
    seed?: number;
    store?: MemoryCheckpoints;
    attempt?: number;
    onReport?: (step: number, h: Harness) => void;
  } = {},
): Harness {
  const store = options.store ?? new MemoryCheckpoints();
  const controller = new AbortController();
  const harness: Harness = { reports: [], logs: [], controller, ctx: undefined as unknown as AttemptContext };
  harness.ctx = {
    experimentId: 'exp-1',
    trialId: 'trial-1',
    trialNumber: 0,
    attemptId: `attempt-${options.attempt ?? 1}`,
    attemptNumber: options.attempt ?? 1,
    config,
    params: {},
    seed: options.seed ?? 1,
    gpuIds: [],
    signal: controller.signal,
    report(step, metrics) {
      const last = harness.reports.at(-1);
      if (last && step <= last.step) return;
      harness.reports.push({ step, metrics });
      options.onReport?.(step, harness);
    },
    checkpoint: {
      load: async () => store.latest(),
      save: async (checkpoint) => {
        store.saved.push({ step: checkpoint.step, data: Buffer.from(checkpoint.data) });
      },
    },
    log: (line) => harness.logs.push(line),
  };
  return harness;
}

function trial(extra: Record<string, unknown>): TrialConfig {
  return trialSchema.parse(extra);
}

function weights(checkpoint: Checkpoint): Map<string, TensorRecord> {
  return new Map(decodeCheckpoint(checkpoint.data).tensors.map((t) => [t.name, t]));
}

let backend: Backend;

before(async () => {
  backend = await selectBackend(false);
  registerBuiltinDataset({
    ...getBuiltinDataset('optdigits')!,
    name: 'optdigits-mini',
    train: join(root, 'test/fixtures/optdigits-noheader.csv'),
    test: undefined,
  });
});

describe('backend', () => {
  it('honours TRELLIS_TF_BACKEND and is memoised', async () => {
    assert.equal(backend.name, 'wasm');
    assert.equal(backend.tf.getBackend(), 'wasm');
    assert.equal(await selectBackend(true), backend);
  });
});

describe('classify: MLP on optdigits', () => {
  const config = trial({ dataset: 'optdigits', epochs: 4, model: { type: 'mlp', hidden: [128] }, checkpointEvery: 1 });
  const store = new MemoryCheckpoints();
  let full: Harness;
  let result: RunResult;
  const tensorCounts: number[] = [];
  let tensorsBefore = 0;

  before(async () => {
    tensorsBefore = backend.tf.memory().numTensors;
    full = makeContext(config, { store, onReport: () => tensorCounts.push(backend.tf.memory().numTensors) });
    result = await tfjsRuntime.run(full.ctx);
  });

  it('reports every epoch in order and reaches val_accuracy >= 0.9', () => {
    assert.deepEqual(
      full.reports.map((r) => r.step),
      [1, 2, 3, 4],
    );
    for (const { metrics } of full.reports) {
      assert.deepEqual(Object.keys(metrics).sort(), ['accuracy', 'loss', 'val_accuracy', 'val_loss']);
      assert.ok(Object.values(metrics).every(Number.isFinite));
    }
    const last = full.reports.at(-1)!.metrics;
    assert.ok(last.val_accuracy! >= 0.9, `val_accuracy ${last.val_accuracy}`);
    assert.ok(full.reports[3]!.metrics.loss! < full.reports[0]!.metrics.loss!);
  });

  it('returns test metrics and run facts', () => {
    const m = result.metrics;
    assert.ok(m.test_accuracy! >= 0.88, `test_accuracy ${m.test_accuracy}`);
    for (const key of ['test_macro_f1', 'test_balanced_accuracy', 'test_ece']) {
      assert.ok(m[key]! > 0 && m[key]! <= 1, `${key} ${m[key]}`);
    }
    assert.equal(m.test_auc, undefined); // ten classes
    assert.equal(result.info.backend, 'wasm');
    assert.equal(result.info.droppedRows, 0);
    assert.equal(result.info.flippedLabels, 0);
    assert.equal(result.info.trainSize, 3823 - 573);
    assert.equal(result.info.valSize, 573);
    assert.equal(result.info.testSize, 1797);
    assert.deepEqual(result.info.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(result.info.params, 64 * 128 + 128 + 128 * 10 + 10);
  });

  it('does not leak tensors across epochs or after the run', () => {
    assert.equal(tensorCounts.length, 4);
    assert.ok(
      tensorCounts.every((n) => n === tensorCounts[0]),
      `numTensors per epoch ${tensorCounts.join(', ')}`,
    );
    assert.equal(backend.tf.memory().numTensors, tensorsBefore);
  });

  it('checkpoints every epoch with weights, Adam moments and the RNG position', () => {
    assert.deepEqual(
      store.saved.map((c) => c.step),
      [1, 2, 3, 4],
    );
    const decoded = decodeCheckpoint<{ epoch: number; rng: number[]; optimizerNames: string[] }>(store.saved[1]!.data);
    assert.equal(decoded.meta.epoch, 2);
    assert.equal(decoded.meta.rng.length, 4);
    const names = decoded.tensors.map((t) => t.name);
    assert.ok(names.includes('model/dense0/kernel'));
    assert.ok(names.includes('model/output/bias'));
    // iterations + first and second moments of 4 variables
    assert.equal(decoded.meta.optimizerNames.length, 9);
    const iterations = decoded.tensors.find((t) => t.name === 'optimizer/0')!;
    assert.equal(iterations.values[0], 2 * Math.ceil(3250 / 64));
  });

  it('resumes a new attempt at the next epoch with identical weights; abort stops with StoppedError', async () => {
    const resumeStore = new MemoryCheckpoints();
    const first = makeContext(config, {
      store: resumeStore,
      onReport: (step, h) => {
        if (step === 2) h.controller.abort();
      },
    });
    await assert.rejects(tfjsRuntime.run(first.ctx), StoppedError);
    assert.deepEqual(
      first.reports.map((r) => r.step),
      [1, 2],
    );
    assert.deepEqual(
      resumeStore.saved.map((c) => c.step),
      [1, 2],
    );
    // Same seed, same weights as the uninterrupted run at epoch 2.
    const uninterrupted2 = weights(store.saved[1]!);
    const interrupted2 = weights(resumeStore.saved[1]!);
    assert.deepEqual(
      interrupted2.get('model/dense0/kernel')!.values,
      uninterrupted2.get('model/dense0/kernel')!.values,
    );

    const second = makeContext(config, { store: resumeStore, attempt: 2 });
    const resumed = await tfjsRuntime.run(second.ctx);
    assert.deepEqual(
      second.reports.map((r) => r.step),
      [3, 4],
    );
    assert.equal(resumed.info.resumedFromEpoch, 2);
    assert.ok(second.logs.some((l) => /resumed from the checkpoint of epoch 2/.test(l)));
    // Weights, optimizer state and shuffling were restored exactly: epoch 3 and 4 match the full run.
    assert.deepEqual(second.reports[0]!.metrics, full.reports[2]!.metrics);
    const a = weights(store.saved[3]!);
    const b = weights(resumeStore.saved[3]!);
    for (const name of ['model/dense0/kernel', 'model/output/kernel', 'optimizer/1', 'optimizer/8']) {
      assert.deepEqual(b.get(name)!.values, a.get(name)!.values, name);
    }
    assert.equal(resumed.metrics.test_accuracy, result.metrics.test_accuracy);
  });

  it('a drain (ctx.preempt) checkpoints the epoch off the cadence and stops as preempted; the next attempt resumes after it', async () => {
    const sparse = trial({ ...config, checkpointEvery: 10 });
    const drained = new MemoryCheckpoints();
    const preempt = new AbortController();
    const first = makeContext(sparse, {
      store: drained,
      onReport: (step) => {
        if (step === 2) preempt.abort();
      },
    });
    first.ctx.preempt = preempt.signal;
    await assert.rejects(
      tfjsRuntime.run(first.ctx),
      (err: unknown) => err instanceof StoppedError && err.message === 'preempted',
    );
    assert.deepEqual(
      drained.saved.map((c) => c.step),
      [2],
      'checkpointEvery 10 saves nothing by epoch 2; the drain does',
    );
    const second = makeContext(sparse, { store: drained, attempt: 2 });
    const resumed = await tfjsRuntime.run(second.ctx);
    assert.equal(resumed.info.resumedFromEpoch, 2);
    assert.deepEqual(
      second.reports.map((r) => r.step),
      [3, 4],
    );
    // The same training as the uninterrupted run: epoch 3 matches it.
    assert.deepEqual(second.reports[0]!.metrics, full.reports[2]!.metrics);
  });

  it('stops before training when the signal is already aborted', async () => {
    const h = makeContext(trial({ dataset: 'optdigits', epochs: 1 }));
    h.controller.abort(new StoppedError('cancelled by user'));
    await assert.rejects(
      tfjsRuntime.run(h.ctx),
      (err: unknown) => err instanceof StoppedError && err.message === 'cancelled by user',
    );
    assert.equal(h.reports.length, 0);
  });
});

describe('classify: other models and data', () => {
  it('trains a tiny CNN on an optdigits subset for one epoch', async () => {
    const config = trial({
      dataset: 'optdigits-mini',
      epochs: 1,
      batchSize: 16,
      lr: 0.01,
      model: { type: 'cnn', filters: [4], hidden: [16], dropout: 0.1 },
      checkpointEvery: 0,
    });
    const h = makeContext(config, { seed: 2 });
    const result = await tfjsRuntime.run(h.ctx);
    assert.deepEqual(
      h.reports.map((r) => r.step),
      [1],
    );
    assert.ok(Number.isFinite(h.reports[0]!.metrics.val_loss));
    // conv 3·3·1·4 + 4, dense (4·4·4)·16 + 16, output 16·10 + 10
    assert.equal(result.info.params, 40 + 1040 + 170);
    assert.equal(result.info.testSize, 45);
    assert.ok(Number.isFinite(result.metrics.test_accuracy), `test_accuracy ${result.metrics.test_accuracy}`);
    assert.ok(result.metrics.test_accuracy! > 0.2, `test_accuracy ${result.metrics.test_accuracy}`);
  });

  it('im2col convolution matches tf.conv2d', () => {
    const { tf } = backend;
    const options = {
      type: 'cnn' as const,
      hidden: [8],
      dropout: 0,
      filters: [3, 5],
      inputSize: 36,
      numClasses: 4,
      shape: [6, 6],
    };
    const a = buildModel(tf, options, Rng.create(1, 'init'));
    const b = buildModel(tf, { ...options, nativeConv: true }, Rng.create(1, 'init'));
    const x = tf.randomNormal([5, 36], 0, 1, 'float32', 7) as import('@tensorflow/tfjs').Tensor2D;
    const la = tf.tidy(() => a.apply(x).logits.arraySync());
    const lb = tf.tidy(() => b.apply(x).logits.arraySync());
    for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(la[i]![j]! - lb[i]![j]!) < 1e-4);
    x.dispose();
    a.dispose();
    b.dispose();
  });

  it('computes binary, calibration and group metrics with a group column and categorical features', async () => {
    const config = trial({
      dataset: { path: 'test/fixtures/groups.csv', label: 'label', group: 'group' },
      epochs: 3,
      batchSize: 16,
      lr: 0.01,
      model: { type: 'linear' },
      optimizer: 'rmsprop',
      weightDecay: 0.001,
      split: { validation: 0.2, test: 0.3 },
    });
    const h = makeContext(config, { seed: 5 });
    const result = await tfjsRuntime.run(h.ctx);
    const m = result.metrics;
    assert.equal(result.info.features, 2 + 3); // x1, x2 and one-hot kind (u, v, w); group is not a feature
    assert.equal(result.info.params, 5 * 2 + 2);
    assert.deepEqual(result.info.classes, ['no', 'yes']);
    assert.equal(result.info.testSize, 72);
    assert.ok(m.test_auc! > 0.75, `test_auc ${m.test_auc}`);
    for (const key of [
      'test_accuracy',
      'test_worst_group_accuracy',
      'test_group_accuracy.A',
      'test_group_accuracy.B',
    ]) {
      assert.ok(m[key]! >= 0 && m[key]! <= 1, `${key} ${m[key]}`);
    }
    const groupValues = [m['test_group_accuracy.A']!, m['test_group_accuracy.B']!];
    assert.equal(m.test_worst_group_accuracy, Math.min(...groupValues));
    assert.ok(Math.abs(m.test_group_gap! - (Math.max(...groupValues) - Math.min(...groupValues))) < 1e-12);
    // The validation split's group figures every epoch (a sweep may select on them): the worst
    // group is at most the overall accuracy (a weighted mean of the groups'), the gap in [0, 1].
    assert.equal(h.reports.length, 3);
    for (const { step, metrics } of h.reports) {
      const worst = metrics.val_worst_group_accuracy!;
      assert.ok(worst >= 0 && worst <= metrics.val_accuracy! + 1e-12, `epoch ${step}: worst ${worst}`);
      assert.ok(
        metrics.val_group_gap! >= 0 && metrics.val_group_gap! <= 1,
        `epoch ${step}: gap ${metrics.val_group_gap}`,
      );
    }
  });

  it('ignores a checkpoint it cannot use and starts from epoch 1', async () => {
    const store = new MemoryCheckpoints();
    store.saved.push({ step: 3, data: Buffer.from('garbage') });
    const h = makeContext(trial({ dataset: 'optdigits-mini', epochs: 1, model: { type: 'linear' } }), { store });
    await tfjsRuntime.run(h.ctx);
    assert.deepEqual(
      h.reports.map((r) => r.step),
      [1],
    );
    assert.ok(
      h.logs.some((l) => /ignoring the checkpoint at step 3 \(not a trellis tfjs checkpoint/.test(l)),
      h.logs.join('\n'),
    );
    // A checkpoint of another architecture is not loaded either.
    const other = makeContext(trial({ dataset: 'optdigits-mini', epochs: 2, model: { type: 'mlp', hidden: [8] } }), {
      store,
    });
    await tfjsRuntime.run(other.ctx);
    assert.deepEqual(
      other.reports.map((r) => r.step),
      [1, 2],
    );
    assert.ok(
      other.logs.some((l) => /different model architecture/.test(l)),
      other.logs.join('\n'),
    );
  });

  it('sgd with label noise reports the flipped labels', async () => {
    const config = trial({
      dataset: 'optdigits-mini',
      epochs: 1,
      optimizer: 'sgd',
      lr: 0.05,
      labelNoise: { rate: 0.1, kind: 'asymmetric' },
      checkpointEvery: 0,
    });
    const h = makeContext(config, { seed: 2 });
    const result = await tfjsRuntime.run(h.ctx);
    assert.equal(result.info.flippedLabels, Math.round(0.1 * (result.info.trainSize as number)));
  });
});

describe('task registry and config checks', () => {
  it('lists tasks and names unknown ones', () => {
    assert.ok(taskNames().includes('classify'));
    assert.equal(getTask('classify').name, 'classify');
    assert.throws(
      () => getTask('regress'),
      (err: unknown) => err instanceof PermanentRunError && /tasks: .*classify/.test(err.message),
    );
  });

  it('accepts a valid classify config', () => {
    assert.deepEqual(validateTaskConfig(trial({ dataset: 'optdigits', model: { type: 'cnn' } })), []);
    assert.deepEqual(
      validateTaskConfig(trial({ dataset: { path: 'x.csv', label: 'y', group: 'g' }, loss: { name: 'groupdro' } })),
      [],
    );
  });

  it('reports problems as trial.FIELD: message', () => {
    assert.deepEqual(validateTaskConfig(trial({})), ['trial.dataset: required for task classify']);
    assert.deepEqual(validateTaskConfig(trial({ task: 'nope', dataset: 'optdigits' })), [
      'trial.task: unknown task "nope"; tasks: ' + taskNames().join(', '),
    ]);
    assert.deepEqual(validateTaskConfig(trial({ dataset: { path: 'x.csv', label: 'y' }, model: { type: 'cnn' } })), [
      'trial.model.type: cnn needs an image shape; give dataset.shape',
    ]);
    const unknownDataset = validateTaskConfig(trial({ dataset: 'mnist' }));
    assert.equal(unknownDataset.length, 1);
    assert.match(unknownDataset[0]!, /^trial\.dataset: unknown built-in dataset "mnist"/);
    const badLoss = validateTaskConfig(trial({ dataset: 'optdigits', loss: 'nosuchloss' }));
    assert.equal(badLoss.length, 1);
    assert.match(badLoss[0]!, /^trial\.loss: .*nosuchloss/);
    const badParam = validateTaskConfig(trial({ dataset: 'optdigits', loss: { name: 'gce', qq: 1 } }));
    assert.equal(badParam.length, 1);
    assert.match(badParam[0]!, /^trial\.loss: .*qq/);
    assert.deepEqual(validateTaskConfig(trial({ dataset: 'optdigits', loss: 'groupdro' })), [
      'trial.dataset.group: loss groupdro needs a group column (dataset.group)',
    ]);
    const embedding = validateTaskConfig(trial({ dataset: 'optdigits', loss: 'tcm' }));
    assert.match(
      embedding[0]!,
      /^trial\.loss: tcm \(family embedding\) does not fit task classify, which takes classification, group, binary/,
    );
  });

  it('refuses a bad config at run time with PermanentRunError', async () => {
    const h = makeContext(trial({ dataset: { path: 'test/fixtures/missing.csv', label: 'y' } }));
    await assert.rejects(
      tfjsRuntime.run(h.ctx),
      (err: unknown) => err instanceof PermanentRunError && /missing\.csv/.test(err.message),
    );
    const shape = makeContext(
      trial({ dataset: { path: 'test/fixtures/groups.csv', label: 'label', shape: [3, 3] }, model: { type: 'cnn' } }),
    );
    await assert.rejects(tfjsRuntime.run(shape.ctx), /holds 9 values but the dataset has 7 features/);
  });
});

describe('checkpoint format', () => {
  it('round-trips tensors of every dtype and the meta document', () => {
    const tensors: TensorRecord[] = [
      { name: 'a', dtype: 'float32', shape: [2, 3], values: Float32Array.from([1, 2.5, -3, 4, 5, 6]) },
      { name: 'b', dtype: 'int32', shape: [], values: Int32Array.from([7]) },
      { name: 'c', dtype: 'bool', shape: [3], values: Uint8Array.from([1, 0, 1]) },
    ];
    const buffer = encodeCheckpoint({ epoch: 3, note: 'x' }, tensors);
    const decoded = decodeCheckpoint(buffer);
    assert.deepEqual(decoded.meta, { epoch: 3, note: 'x' });
    assert.deepEqual(decoded.tensors, tensors);
    assert.throws(() => decodeCheckpoint(Buffer.from('not a checkpoint at all')), /bad magic/);
  });
});
