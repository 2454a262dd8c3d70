/**
 * The native TensorFlow backend (@tensorflow/tfjs-node on libtensorflow 2.9.1, built by
 * scripts/setup-native-tf.sh from PyPI): selected by TRELLIS_TF_BACKEND=tensorflow, its kernels
 * agree with the pure-JS cpu backend, and one tfjs trial (a CNN on optdigits, through the tfjs
 * runtime as a worker runs it) trains on it.
 *
 * Not part of `npm test` (the `.native.js` suffix keeps it out): the setup downloads a 210 MB
 * wheel once. `npm run test:native` runs the setup first; when the backend cannot load, the
 * suite fails (selectBackend rejects with the setup hint), it is never skipped.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as tfType from '@tensorflow/tfjs';
import { selectBackend, type Backend } from '../../worker/runtimes/tfjs/backend.js';
import { tfjsRuntime } from '../../worker/runtimes/tfjs/runtime.js';
import { localContext } from '../../worker/tasks/mlff/arms.js';
import { trialSchema } from '../../shared/spec/schema.js';

process.env.TRELLIS_TF_BACKEND = 'tensorflow';

let backend: Backend;

before(async () => {
  backend = await selectBackend(false);
});

describe('native TensorFlow backend', () => {
  it('is selected by TRELLIS_TF_BACKEND=tensorflow and runs TensorFlow 2.9.1', () => {
    assert.equal(backend.name, 'tensorflow');
    assert.equal(backend.tf.getBackend(), 'tensorflow');
    const binding = (backend.tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
    assert.equal(binding.TF_Version, '2.9.1');
  });

  it('computes conv2d, matMul and softmax as the pure-JS cpu backend does', async () => {
    const { tf } = backend;
    const compute = (): number[][] =>
      tf.tidy(() => {
        const x = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 11) as tfType.Tensor4D;
        const k = tf.randomNormal([3, 3, 2, 5], 0, 1, 'float32', 12) as tfType.Tensor4D;
        const w = tf.randomNormal([8 * 8 * 5, 4], 0, 0.1, 'float32', 13) as tfType.Tensor2D;
        const y = tf
          .conv2d(x, k, 1, 'same')
          .relu()
          .reshape([3, 8 * 8 * 5]) as tfType.Tensor2D;
        return tf.softmax(tf.matMul(y, w)).arraySync() as number[][];
      });
    const native = compute();
    assert.ok(await tf.setBackend('cpu'));
    let reference: number[][];
    try {
      reference = compute();
    } finally {
      assert.ok(await tf.setBackend('tensorflow'));
    }
    assert.equal(native.length, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        assert.ok(
          Math.abs(native[i]![j]! - reference[i]![j]!) < 1e-4,
          `[${i}][${j}] ${native[i]![j]} vs ${reference[i]![j]}`,
        );
      }
    }
  });

  it('trains one tfjs trial (a CNN on optdigits) through the tfjs runtime', async () => {
    const { ctx, reports } = localContext('classify', {}, 3);
    const config = trialSchema.parse({
      runtime: 'tfjs',
      task: 'classify',
      dataset: 'optdigits',
      epochs: 3,
      batchSize: 64,
      lr: 0.005,
      model: { type: 'cnn', filters: [8], hidden: [32] },
      checkpointEvery: 0,
    });
    const result = await tfjsRuntime.run({ ...ctx, config });
    assert.equal(result.info.backend, 'tensorflow');
    assert.deepEqual(
      reports.map((r) => r.step),
      [1, 2, 3],
    );
    assert.ok(reports.every((r) => Number.isFinite(r.metrics.loss)));
    assert.ok(reports[2]!.metrics.loss! < reports[0]!.metrics.loss!, 'the loss falls');
    // Chance is 0.1; a working CNN reaches > 0.9 on optdigits in 3 epochs.
    assert.ok(result.metrics.test_accuracy! > 0.85, `test_accuracy ${result.metrics.test_accuracy}`);
  });
});
