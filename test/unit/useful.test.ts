/**
 * USEFUL's clustering step (worker/tasks/useful.ts) in isolation: per-class k-means on logits,
 * upsample the high-loss cluster once. The product's data path (classify's exportTrainOutputs →
 * an artifact → useful-cluster → classify's trainIndices) runs through the pipeline engine in
 * test/integration/templates.test.ts. `perExampleCrossEntropy` has no production caller (classify
 * computes the losses itself); its test here checks the helper only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clusterAndUpsample, perExampleCrossEntropy, usefulClusterTask } from '../../worker/tasks/useful.js';
import type { AttemptContext } from '../../worker/runtimes/base.js';
import { PermanentRunError } from '../../worker/runtimes/base.js';
import { trialSchema } from '../../shared/spec/schema.js';
import { usefulClusterDescriptor } from '../../shared/catalogue/tasks/useful.js';

function context(options: Record<string, unknown>): { ctx: AttemptContext; reports: Record<string, number>[] } {
  const reports: Record<string, number>[] = [];
  const ctx: AttemptContext = {
    experimentId: 'e',
    trialId: 't',
    trialNumber: 0,
    attemptId: 'a',
    attemptNumber: 1,
    config: trialSchema.parse({ task: 'useful-cluster', options }),
    params: {},
    seed: 9,
    gpuIds: [],
    signal: new AbortController().signal,
    report: (_step, metrics) => void reports.push(metrics),
    checkpoint: { load: async () => undefined, save: async () => undefined },
    log: () => undefined,
  };
  return { ctx, reports };
}

/** Counts how often each index appears. */
function counts(indices: number[], n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const i of indices) c[i]!++;
  return c;
}

/**
 * Two classes, each with a confidently-correct group and a confused group (by logits). Class 0's
 * confused examples sit where class 1's confident ones are, and vice versa, so a clustering over
 * all examples at once would mix the classes.
 */
function handBuilt(): { logits: number[][]; losses: number[]; labels: number[] } {
  const logits: number[][] = [];
  const losses: number[] = [];
  const labels: number[] = [];
  const add = (l: number[], loss: number, y: number): void => {
    logits.push(l);
    losses.push(loss);
    labels.push(y);
  };
  // Class 0: learned (high logit 0, low loss) ×4, not learned (looks like class 1) ×2.
  add([5, 0, 0], 0.01, 0);
  add([5.2, 0.1, 0], 0.02, 0);
  add([4.9, -0.1, 0.1], 0.015, 0);
  add([5.1, 0, -0.1], 0.01, 0);
  add([0, 4, 0], 4.0, 0);
  add([0.2, 4.1, 0], 3.9, 0);
  // Class 1: learned ×3 (near [0,4,0]), not learned ×3 (near [5,0,0]).
  add([0, 4.2, 0], 0.02, 1);
  add([0.1, 3.9, 0], 0.03, 1);
  add([-0.1, 4, 0.2], 0.02, 1);
  add([4.8, 0, 0], 4.8, 1);
  add([5, 0.2, 0], 5.0, 1);
  add([5.1, -0.1, 0], 5.1, 1);
  // Class 2: a single example (left alone).
  add([0, 0, 3], 0.05, 2);
  return { logits, losses, labels };
}

describe('USEFUL clusterAndUpsample', () => {
  it('chooses the high-loss cluster of each class on a hand-built example', () => {
    const input = handBuilt();
    const r = clusterAndUpsample({ ...input, seed: 1 });
    assert.deepEqual(r.skipped, [2]);
    assert.equal(r.perClass.length, 2);
    const [c0, c1] = r.perClass;
    assert.equal(c0!.class, 0);
    // Cluster 0 is the one holding the class's first example (a learned one).
    assert.deepEqual(c0!.sizes, [4, 2]);
    assert.equal(c0!.chosen, 1);
    assert.deepEqual(c0!.upsampledIndices, [4, 5]);
    assert.ok(Math.abs(c0!.meanLoss[0] - 0.01375) < 1e-12);
    assert.ok(Math.abs(c0!.meanLoss[1] - 3.95) < 1e-12);
    assert.equal(c1!.class, 1);
    assert.deepEqual(c1!.sizes, [3, 3]);
    assert.equal(c1!.chosen, 1);
    assert.deepEqual(c1!.upsampledIndices, [9, 10, 11]);
    assert.ok(Math.abs(c1!.meanLoss[1] - (4.8 + 5 + 5.1) / 3) < 1e-12);
    assert.equal(r.upsampled, 5);
    assert.deepEqual(r.indices, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 4, 5, 9, 10, 11]);
  });

  it('picks cluster 0 when it is the high-loss one (the choice follows the loss, not the id)', () => {
    // The first example is in the not-learned group here.
    const logits = [
      [0, 3],
      [0.1, 3],
      [4, 0],
      [4.1, 0],
      [3.9, 0.1],
    ];
    const losses = [2, 2.5, 0.1, 0.1, 0.2];
    const r = clusterAndUpsample({ logits, losses, labels: [0, 0, 0, 0, 0], seed: 3 });
    assert.equal(r.perClass[0]!.chosen, 0);
    assert.deepEqual(r.perClass[0]!.sizes, [2, 3]);
    assert.deepEqual(r.indices, [0, 1, 2, 3, 4, 0, 1]);
  });

  it('clusters never mix classes, and a global clustering would have', () => {
    const input = handBuilt();
    const r = clusterAndUpsample({ ...input, seed: 7 });
    for (const report of r.perClass) {
      const members = input.labels.filter((y) => y === report.class).length;
      assert.equal(report.sizes[0] + report.sizes[1], members);
      for (const i of report.upsampledIndices) assert.equal(input.labels[i], report.class);
    }
    // Pooling the two classes puts class 0's confused examples with class 1's confident ones:
    // per-class clustering is what keeps them apart. Treat everything as one class to see it.
    const pooled = clusterAndUpsample({ ...input, labels: input.labels.map(() => 0), seed: 7 });
    const mixed = pooled.perClass[0]!.upsampledIndices.map((i) => input.labels[i]);
    assert.ok(new Set(mixed).size > 1, 'a pooled clustering mixes classes');
  });

  it('the new index list has n + upsampled entries and every chosen example appears exactly twice', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            label: fc.integer({ min: 0, max: 3 }),
            a: fc.double({ min: -5, max: 5, noNaN: true }),
            b: fc.double({ min: -5, max: 5, noNaN: true }),
            loss: fc.double({ min: 0, max: 10, noNaN: true }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 0, max: 1000 }),
        (rows, seed) => {
          const n = rows.length;
          const r = clusterAndUpsample({
            logits: rows.map((x) => [x.a, x.b]),
            losses: rows.map((x) => x.loss),
            labels: rows.map((x) => x.label),
            seed,
          });
          assert.equal(r.indices.length, n + r.upsampled);
          const chosen = new Set(r.perClass.flatMap((p) => p.upsampledIndices));
          assert.equal(chosen.size, r.upsampled);
          counts(r.indices, n).forEach((c, i) => assert.equal(c, chosen.has(i) ? 2 : 1));
          for (const p of r.perClass) {
            assert.ok(p.meanLoss[p.chosen] >= p.meanLoss[1 - p.chosen]!);
            assert.equal(p.upsampledIndices.length, p.sizes[p.chosen]);
            for (const i of p.upsampledIndices) assert.equal(rows[i]!.label, p.class);
          }
          // Classes with fewer than 2 examples are skipped.
          const sizes = new Map<number, number>();
          rows.forEach((x) => sizes.set(x.label, (sizes.get(x.label) ?? 0) + 1));
          for (const [cls, size] of sizes) if (size < 2) assert.ok(r.skipped.includes(cls));
          assert.equal(r.perClass.length + r.skipped.length, sizes.size);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });

  it('is deterministic for a seed; identical logits and single examples are left alone', () => {
    const input = handBuilt();
    assert.deepEqual(clusterAndUpsample({ ...input, seed: 5 }), clusterAndUpsample({ ...input, seed: 5 }));
    const same = clusterAndUpsample({
      logits: [
        [1, 1],
        [1, 1],
        [1, 1],
        [2, 0],
      ],
      losses: [1, 2, 3, 4],
      labels: [0, 0, 0, 1],
      seed: 1,
    });
    assert.deepEqual(same.skipped, [0, 1]);
    assert.equal(same.upsampled, 0);
    assert.deepEqual(same.indices, [0, 1, 2, 3]);
    assert.throws(() => clusterAndUpsample({ logits: [[1]], losses: [1, 2], labels: [0], seed: 1 }), /must match/);
  });

  it('per-example cross-entropy: h = [2, 1, 0], y = 0 → 0.407606', () => {
    const l = perExampleCrossEntropy(
      [
        [2, 1, 0],
        [0, 0],
      ],
      [0, 1],
    );
    assert.ok(Math.abs(l[0]! - 0.407606) < 1e-6);
    assert.ok(Math.abs(l[1]! - Math.LN2) < 1e-12);
  });

  it('useful-cluster task: trainOutputs (object or JSON string) in, the upsampled index list out', async () => {
    const input = handBuilt();
    const backend = { name: 'cpu', tf: undefined as never };
    const { ctx, reports } = context({ trainOutputs: JSON.stringify(input), seed: 1 });
    const result = await usefulClusterTask.run(ctx, backend);
    const outputs = result.info.outputs as {
      indices: number[];
      upsampled: number;
      perClass: { class: number; chosen: number }[];
    };
    assert.deepEqual(outputs.indices, clusterAndUpsample({ ...input, seed: 1 }).indices);
    assert.equal(outputs.upsampled, 5);
    assert.deepEqual(
      outputs.perClass.map((p) => [p.class, p.chosen]),
      [
        [0, 1],
        [1, 1],
      ],
    );
    assert.equal(result.metrics.upsampled, 5);
    assert.ok(Math.abs(result.metrics.upsampled_fraction! - 5 / 13) < 1e-12);
    assert.equal(reports.length, 1);
    await assert.rejects(usefulClusterTask.run(context({}).ctx, backend), PermanentRunError);
    await assert.rejects(
      usefulClusterTask.run(context({ trainOutputs: { logits: [[1]], losses: [1, 2], labels: [0] } }).ctx, backend),
      (err: unknown) => err instanceof PermanentRunError && /must match/.test(err.message),
    );
    const config = (options: Record<string, unknown>) => trialSchema.parse({ task: 'useful-cluster', options });
    assert.deepEqual(
      usefulClusterDescriptor.validate(config({ trainOutputs: '${stages.early.outputs.trainOutputs}' })),
      [],
    );
    assert.match(usefulClusterDescriptor.validate(config({})).join('\n'), /trial\.options\.trainOutputs/);
  });
});
