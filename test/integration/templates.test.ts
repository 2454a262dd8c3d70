/**
 * The seed templates run end to end as the product runs them: `template: useful` and
 * `template: asteroid` submitted to a real coordinator, expanded by the pipeline engine into
 * child sweeps, run by real worker processes (the integration cluster), with `${stages...}`
 * references resolved by the engine and large outputs travelling as artifacts. Small settings
 * (one or two epochs, tiny networks) keep each run to seconds; what is asserted is the data
 * flow between stages and what each stage did with it, recomputed here from the stored
 * outputs, not only that numbers are finite.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { TrellisClient } from '../../client/index.js';
import type { StageState, TrialDoc } from '../../shared/types.js';
import { startCluster, waitForWorkers, type Cluster } from '../helpers/cluster.js';
import { WAIT_MS } from '../helpers/deadline.js';

/** Over this, a stage output travels as an artifact (worker/agent.ts OUTPUT_INLINE_LIMIT). */
const INLINE_LIMIT = 64 * 1024;

function templateSpec(name: string, template: string, params: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'trellis/v1', kind: 'Pipeline', name, template, params });
}

function artifactId(value: unknown): string | undefined {
  const id = (value as { $artifact?: unknown } | undefined)?.$artifact;
  return typeof id === 'string' ? id : undefined;
}

async function onlyTrial(cluster: Cluster, stage: StageState | undefined, name: string): Promise<TrialDoc> {
  assert.ok(stage?.childId, `stage ${name} has a child sweep`);
  const trials = await cluster.coordinator.trials(stage.childId);
  assert.equal(trials.length, 1, `stage ${name} ran one trial`);
  return trials[0]!;
}

async function runTemplate(
  template: string,
  params: Record<string, unknown>,
  check: (stages: Record<string, StageState>, cluster: Cluster) => Promise<void>,
): Promise<void> {
  const cluster = await startCluster({ workers: 2 });
  const client = new TrellisClient(cluster.address);
  try {
    await waitForWorkers(cluster, 2);
    const { experiment } = await client.submit(templateSpec(`it-${template}`, template, params));
    const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
    assert.equal(final.status, 'succeeded', final.error);
    const stages = (final.stages ?? {}) as Record<string, StageState>;
    for (const [name, s] of Object.entries(stages)) assert.equal(s.status, 'succeeded', `stage ${name}`);
    await check(stages, cluster);
  } finally {
    client.close();
    await cluster.stop();
  }
}

describe('seed templates through the pipeline engine', () => {
  it("useful: early outputs over the inline limit travel as an artifact; the retrain trains on cluster's indices", async () => {
    await runTemplate(
      'useful',
      { model: { type: 'mlp', hidden: [16], dropout: 0 }, epochs: 1, earlyEpochs: 1, batchSize: 128, seed: 1 },
      async (stages, cluster) => {
        assert.deepEqual(Object.keys(stages).sort(), ['baseline', 'cluster', 'early', 'retrain']);
        // early → cluster: exportTrainOutputs' result is far over 64 KB, so it is an artifact, and
        // the engine hands the cluster stage the reference, which its worker resolved.
        const ref = stages.early!.outputs!.trainOutputs;
        const id = artifactId(ref);
        assert.ok(id, `early.outputs.trainOutputs is an artifact reference, got ${JSON.stringify(ref).slice(0, 80)}`);
        const stored = await cluster.coordinator.getArtifact({ name: 'test', role: 'admin' }, id);
        assert.ok(stored.data.length > INLINE_LIMIT, `trainOutputs is ${stored.data.length} bytes`);
        const out = JSON.parse(stored.data.toString('utf8')) as {
          logits: number[][];
          losses: number[];
          labels: number[];
        };
        const early = await onlyTrial(cluster, stages.early, 'early');
        const n = early.info!.trainSize as number;
        assert.ok(n > 1000, `optdigits' training split, got ${n}`);
        assert.equal(out.labels.length, n);
        assert.equal(out.losses.length, n);
        assert.equal(out.logits.length, n);
        // Each loss is that example's cross-entropy under its logits (recomputed here).
        for (let i = 0; i < n; i += 97) {
          const z = out.logits[i]!;
          const max = Math.max(...z);
          const logSum = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
          assert.ok(Math.abs(logSum - z[out.labels[i]!]! - out.losses[i]!) < 1e-3, `loss of example ${i}`);
        }
        assert.deepEqual((stages.cluster!.inputs!.options as Record<string, unknown>).trainOutputs, ref);

        // cluster → retrain: every row once, the chosen cluster of each class once more, and
        // that cluster is the one with the higher mean early loss.
        const indices = stages.cluster!.outputs!.indices as number[];
        const copies = new Array<number>(n).fill(0);
        for (const i of indices) copies[i]! += 1;
        assert.ok(
          copies.every((c) => c === 1 || c === 2),
          'each row once or twice',
        );
        const twice = copies.filter((c) => c === 2).length;
        assert.equal(twice, stages.cluster!.metrics!.upsampled);
        assert.ok(twice > 0 && twice < n, `${twice} of ${n} upsampled`);
        const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
        let classesCompared = 0;
        for (const cls of new Set(out.labels)) {
          const rows = out.labels.flatMap((l, i) => (l === cls ? [i] : []));
          const up = rows.filter((i) => copies[i] === 2).map((i) => out.losses[i]!);
          const rest = rows.filter((i) => copies[i] === 1).map((i) => out.losses[i]!);
          if (up.length === 0 || rest.length === 0) continue;
          classesCompared++;
          assert.ok(mean(up) > mean(rest), `class ${cls}: upsampled mean loss ${mean(up)} <= ${mean(rest)}`);
        }
        assert.ok(classesCompared >= 5, `${classesCompared} classes compared`);
        const retrainOptions = stages.retrain!.inputs!.options as Record<string, unknown>;
        assert.deepEqual(retrainOptions.trainIndices, indices);
        const retrain = await onlyTrial(cluster, stages.retrain, 'retrain');
        assert.equal(retrain.info!.trainSize, indices.length, 'the retrain trained on the upsampled list');
        assert.equal(retrain.info!.trainIndicesFrom, n);
        const baseline = await onlyTrial(cluster, stages.baseline, 'baseline');
        assert.equal(baseline.info!.trainSize, n, 'the baseline trained on the original data');
      },
    );
  });

  it('asteroid: teacher → bias → pretrain → finetune, weights and checkpoints passed by reference', async () => {
    const cheapFrames = 40;
    await runTemplate(
      'asteroid',
      { accurateFrames: 10, cheapFrames, testFrames: 10, epochs: 2, pretrainEpochs: 2, gamma: 1, seed: 1 },
      async (stages, cluster) => {
        assert.deepEqual(Object.keys(stages).sort(), [
          'baseline',
          'bias',
          'finetune',
          'pretrain',
          'teacher',
          'uniform-finetune',
          'uniform-pretrain',
        ]);
        const options = (name: string): Record<string, unknown> =>
          stages[name]!.inputs!.options as Record<string, unknown>;
        const teacher = stages.teacher!.outputs!.checkpoint;
        assert.ok(teacher && typeof teacher === 'object', 'the teacher outputs a checkpoint');
        // ${stages.teacher.outputs.checkpoint} → bias, pretrain, uniform-pretrain.
        assert.deepEqual(options('bias').teacherWeights, teacher);
        assert.deepEqual(options('pretrain').teacherWeights, teacher);
        assert.deepEqual(options('uniform-pretrain').teacherWeights, teacher);
        // The bias stage: one weight exp(-e/γ) in (0, 1] per cheap frame, not all equal.
        const weights = stages.bias!.outputs!.weights as number[];
        assert.equal(weights.length, cheapFrames);
        assert.ok(
          weights.every((w) => w > 0 && w <= 1),
          `weights in (0, 1]: ${weights.slice(0, 5).join(', ')}`,
        );
        assert.ok(Math.max(...weights) - Math.min(...weights) > 1e-6, 'weights differ between frames');
        // ${stages.bias.outputs.weights} and framesHash → pretrain.
        assert.deepEqual(options('pretrain').weights, weights);
        assert.equal(options('pretrain').framesHash, stages.bias!.outputs!.framesHash);
        assert.equal(options('uniform-pretrain').weights, undefined, 'the uniform arm has no bias weights');
        // ${stages.pretrain.outputs.checkpoint} → finetune, which started from it.
        assert.deepEqual(options('finetune').init, stages.pretrain!.outputs!.checkpoint);
        assert.deepEqual(options('uniform-finetune').init, stages['uniform-pretrain']!.outputs!.checkpoint);
        assert.notDeepEqual(stages.pretrain!.outputs!.checkpoint, stages['uniform-pretrain']!.outputs!.checkpoint);
        const finetune = await onlyTrial(cluster, stages.finetune, 'finetune');
        assert.equal(finetune.info!.initialised, 'init');
        assert.notDeepEqual(stages.finetune!.outputs!.checkpoint, stages.pretrain!.outputs!.checkpoint, 'it trained');
        // The baseline has the teacher's options: the stage cache serves it.
        assert.equal(stages.baseline!.cached, true);
        assert.deepEqual(stages.baseline!.outputs, stages.teacher!.outputs);
        for (const arm of ['finetune', 'uniform-finetune', 'baseline']) {
          const mae = stages[arm]!.metrics!.test_force_mae;
          assert.ok(mae !== undefined && Number.isFinite(mae) && mae > 0, `${arm}: test_force_mae ${mae}`);
        }
      },
    );
  });
});
