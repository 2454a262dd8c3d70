/**
 * The `embed` task (worker/tasks/embed.ts): retrieval metrics on hand-built embeddings, config
 * validation, and short training runs on optdigits with ms and prototriplet (wasm backend).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { trialSchema } from '../../shared/spec/schema.js';
import { fakeAttempt, useWasmBackend, type FakeAttempt } from '../helpers/attempt.js';
import { PermanentRunError, StoppedError, type Checkpoint } from '../../worker/runtimes/base.js';
import { embedTask } from '../../worker/tasks/embed.js';
import { fewShotAccuracy, nearestNeighbourHits, recallAt1 } from '../../worker/tasks/retrieval.js';
import { parseEmbedOptions, validateEmbedConfig } from '../../shared/catalogue/tasks/embed.js';

const backend = { name: 'wasm', tf };

before(async () => {
  await useWasmBackend();
});

type Attempt = FakeAttempt;

function attempt(trial: Record<string, unknown>, seed = 1, store: Checkpoint[] = []): Attempt {
  return fakeAttempt('embed', trial, seed, store);
}

/** Row-major embeddings from a list of points. */
function rows(points: number[][]): Float32Array {
  return Float32Array.from(points.flat());
}

describe('embed: retrieval metrics on hand-built embeddings', () => {
  it('recall@1 counts the nearest other row, with fractional credit for ties', () => {
    // 1-D points: rows 0 and 1 are each other's nearest (same label); row 2 (5) and row 3 (5.1) are
    // each other's nearest but differ in label; row 4 (10) is nearest to row 3 (label 0) → 2/5.
    const emb = rows([[0], [0.1], [5], [5.1], [10]]);
    assert.deepEqual(Array.from(nearestNeighbourHits(emb, [0, 0, 1, 0, 1], 1)), [1, 1, 0, 0, 0]);
    assert.equal(recallAt1(emb, [0, 0, 1, 0, 1], 1), 0.4);
    assert.equal(recallAt1(emb, [0, 0, 1, 1, 1], 1), 1);
    // Only rows with label 1.
    assert.equal(
      recallAt1(emb, [0, 0, 1, 0, 1], 1, (i) => [2, 4].includes(i)),
      0,
    );
    // Row 0 at (0,0) has two nearest rows at distance 1: one same-label, one not → 1/2.
    const tie = rows([
      [0, 0],
      [1, 0],
      [0, 1],
      [5, 5],
      [5, 6],
    ]);
    assert.deepEqual(Array.from(nearestNeighbourHits(tie, [0, 0, 1, 1, 1], 2)), [0.5, 1, 0, 1, 1]);
    assert.equal(recallAt1(tie, [0, 0, 1, 1, 1], 2), 0.7);
  });

  it('few-shot accuracy: separated classes score 1, two indistinguishable classes of four score 0.75', () => {
    const labels: number[] = [];
    const points: number[][] = [];
    const centres = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [-1, 0, 0],
    ];
    for (const [c, centre] of centres.entries()) {
      for (let i = 0; i < 8; i++) {
        // Small within-class spread (≤ 0.07), far below the distance between centres (≥ 1.41).
        points.push(centre.map((v, k) => v + (k === i % 3 ? 0.01 * i : 0)));
        labels.push(c);
      }
    }
    const separated = fewShotAccuracy(rows(points), labels, 3, {
      ways: 2,
      shots: 3,
      queries: 5,
      episodes: 40,
      seed: 7,
    });
    assert.deepEqual(separated, { accuracy: 1, episodes: 40, ways: 2, queries: 40 * 2 * 5 });

    // Every example of classes 0 and 1 sits on the same point: whatever the support, their
    // prototypes coincide, so each of their queries ties between two prototypes (credit 1/2);
    // classes 2 and 3 stay perfect. With all four classes in every episode (ways 4) and 5 queries
    // per class: (0.5 + 0.5 + 1 + 1) / 4 = 0.75.
    const twins = points.map((p, i) => (labels[i]! <= 1 ? [1, 0, 0] : p));
    const result = fewShotAccuracy(rows(twins), labels, 3, { ways: 4, shots: 3, queries: 5, episodes: 25, seed: 3 });
    assert.deepEqual(result, { accuracy: 0.75, episodes: 25, ways: 4, queries: 25 * 4 * 5 });

    // More ways than classes → every class every episode; queries capped at the examples left (8 − 6 = 2).
    const capped = fewShotAccuracy(rows(twins), labels, 3, { ways: 10, shots: 6, queries: 15, episodes: 3, seed: 3 });
    assert.deepEqual(capped, { accuracy: 0.75, episodes: 3, ways: 4, queries: 3 * 4 * 2 });
    // Restricted to classes 2 and 3; and too few eligible classes → undefined.
    assert.equal(
      fewShotAccuracy(rows(twins), labels, 3, { ways: 5, shots: 1, queries: 3, episodes: 5, seed: 1, classes: [2, 3] })
        ?.accuracy,
      1,
    );
    assert.equal(
      fewShotAccuracy(rows(twins), labels, 3, { ways: 5, shots: 8, queries: 3, episodes: 5, seed: 1 }),
      undefined,
    );
  });

  it('few-shot episodes are seeded: same seed, same value', () => {
    const points: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 60; i++) {
      // Overlapping classes on a circle so the accuracy is neither 0 nor 1 and depends on the draw.
      const angle = (i * 2.399963) % (2 * Math.PI);
      points.push([Math.cos(angle), Math.sin(angle)]);
      labels.push(i % 3);
    }
    const options = { ways: 3, shots: 2, queries: 4, episodes: 30, seed: 11 };
    const a = fewShotAccuracy(rows(points), labels, 2, options)!;
    const b = fewShotAccuracy(rows(points), labels, 2, options)!;
    assert.equal(a.accuracy, b.accuracy);
    assert.ok(a.accuracy > 0 && a.accuracy < 1, `accuracy ${a.accuracy}`);
  });
});

describe('embed: config validation', () => {
  const config = (trial: Record<string, unknown>) => trialSchema.parse({ task: 'embed', ...trial });

  it('accepts the embedding losses and rejects the others by name', () => {
    for (const loss of ['ms', 'tcm', 'prototriplet', { name: 'ms', beta: 20 }]) {
      assert.deepEqual(validateEmbedConfig(config({ loss })), [], JSON.stringify(loss));
    }
    assert.deepEqual(validateEmbedConfig(config({})), [
      'trial.loss: task embed needs an embedding loss (ms, tcm, prototriplet), got ce',
    ]);
    assert.deepEqual(validateEmbedConfig(config({ loss: { name: 'rdpo', epsilon: 0.1 } })), [
      'trial.loss: task embed needs an embedding loss (ms, tcm, prototriplet), got rdpo',
    ]);
    assert.deepEqual(validateEmbedConfig(config({ loss: { name: 'ms', alpha: -1 } })).length, 1);
  });

  it('checks the options and the dataset', () => {
    const problems = validateEmbedConfig(
      config({ loss: 'ms', dataset: 'nope', options: { perClass: 1, heldOutClasses: 'x', classesPerBtch: 4 } }),
    );
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0]!, /^trial\.dataset: unknown built-in dataset "nope"/);
    assert.ok(problems.includes('trial.options.perClass: must be an integer in [2, 4096], got 1'));
    assert.ok(problems.some((p) => p.startsWith('trial.options.heldOutClasses: must be a list')));
    assert.ok(problems.some((p) => p.startsWith('trial.options.classesPerBtch: unknown option for task embed')));
    assert.deepEqual(parseEmbedOptions({ ways: 3, heldOutClasses: [8, '9'] }), {
      classesPerBatch: 8,
      perClass: 4,
      heldOutClasses: [8, '9'],
      ways: 3,
      shots: 5,
      queries: 15,
      episodes: 100,
    });
  });

  it('run refuses a non-embedding loss and an unknown held-out class', async () => {
    await assert.rejects(embedTask.run(attempt({ loss: 'ce' }).ctx, backend), (err: unknown) => {
      assert.ok(err instanceof PermanentRunError);
      assert.match(err.message, /task embed needs an embedding loss \(ms, tcm, prototriplet\), got ce/);
      return true;
    });
    await assert.rejects(
      embedTask.run(attempt({ loss: 'ms', options: { heldOutClasses: [42] } }).ctx, backend),
      /trial\.options\.heldOutClasses: 42 is not a class of optdigits/,
    );
  });
});

describe('embed: training on optdigits', () => {
  const small = { epochs: 2, lr: 1e-3, model: { hidden: [64], embedding: 32 }, options: { episodes: 40 } };

  it('ms: recall@1 improves over the untrained network; few-shot is high; a resumed attempt reproduces it', async () => {
    const run = attempt({ ...small, loss: 'ms' }, 1);
    const result = await embedTask.run(run.ctx, backend);
    // Seen (seed 1, wasm): untrained val recall@1 0.846 → 0.928, 0.948 after epochs 1, 2;
    // test recall@1 0.968 and 5-way 5-shot accuracy 0.951 (40 episodes).
    const untrained = result.info.untrainedValRecallAt1 as number;
    assert.deepEqual(
      run.reports.map((r) => r.step),
      [1, 2],
    );
    const last = run.reports.at(-1)!.metrics;
    assert.ok(last.val_recall_at_1! > untrained + 0.03, `val recall ${last.val_recall_at_1} vs untrained ${untrained}`);
    assert.ok(last.val_recall_at_1! >= 0.7);
    assert.ok(run.reports[1]!.metrics.loss! < run.reports[0]!.metrics.loss!);
    assert.ok(result.metrics.test_recall_at_1! >= 0.7, `test recall ${result.metrics.test_recall_at_1}`);
    assert.ok(result.metrics.test_fewshot_accuracy! >= 0.7, `few-shot ${result.metrics.test_fewshot_accuracy}`);
    assert.ok(result.metrics.test_fewshot_accuracy! <= 1);
    assert.equal(result.info.batchesPerEpoch, Math.ceil((result.info.trainSize as number) / 32));
    assert.deepEqual(
      run.store.map((c) => c.step),
      [1, 2],
    );

    // A second attempt finds the epoch-2 checkpoint: nothing left to train, same final metrics.
    const resumed = attempt({ ...small, loss: 'ms' }, 1, run.store);
    const again = await embedTask.run(resumed.ctx, backend);
    assert.equal(again.info.resumedFromEpoch, 2);
    assert.equal(again.info.epochsRun, 0);
    assert.deepEqual(again.metrics, result.metrics);
  });

  it('prototriplet with held-out classes trains and reports unseen-class metrics', async () => {
    const run = attempt({ ...small, loss: 'prototriplet', options: { episodes: 40, heldOutClasses: [8, 9] } }, 1);
    const result = await embedTask.run(run.ctx, backend);
    // Seen (seed 1): val recall@1 0.908 → 0.927 (unseen classes ≈ 0.81), test recall@1 ≈ 0.95.
    assert.deepEqual(result.info.heldOutClasses, ['8', '9']);
    assert.equal(result.info.trainClasses, 8);
    assert.equal(result.info.supportPerClass, 2);
    const last = run.reports.at(-1)!.metrics;
    assert.ok(last.val_recall_at_1! > (result.info.untrainedValRecallAt1 as number));
    assert.ok(last.val_recall_at_1! >= 0.7, `val recall ${last.val_recall_at_1}`);
    for (const key of ['val_recall_at_1_unseen']) assert.ok(last[key]! > 0.5 && last[key]! <= 1, `${key} ${last[key]}`);
    for (const key of [
      'test_recall_at_1',
      'test_fewshot_accuracy',
      'test_recall_at_1_unseen',
      'test_fewshot_accuracy_unseen',
    ]) {
      assert.ok(result.metrics[key]! > 0.5 && result.metrics[key]! <= 1, `${key} ${result.metrics[key]}`);
    }
  });

  it('an abort stops training with StoppedError', async () => {
    const run = attempt({ ...small, epochs: 3, loss: 'tcm' }, 2);
    const report = run.ctx.report.bind(run.ctx);
    run.ctx.report = (step, metrics) => {
      report(step, metrics);
      run.controller.abort();
    };
    await assert.rejects(embedTask.run(run.ctx, backend), StoppedError);
    assert.deepEqual(
      run.reports.map((r) => r.step),
      [1],
    );
    assert.ok(run.reports[0]!.metrics.val_recall_at_1! > 0.7);
  });
});
