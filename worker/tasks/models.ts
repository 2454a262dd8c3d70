/**
 * Small classifiers written with tfjs core ops and explicit variables (so the training loop can
 * use any custom loss, and checkpoints can save and restore every weight by a stable name):
 *
 * - `linear`: logits = x W + b
 * - `mlp`: dense + relu (+ dropout) per `hidden` width, then a linear output layer
 * - `cnn`: per `filters` entry a 3×3 'same' convolution + relu + 2×2 max-pool, then the dense
 *   `hidden` layers and the output layer. Convolutions are computed as im2col + matMul so they
 *   train on every backend (wasm has no Conv2DBackpropFilter kernel).
 *
 * Weights are initialised from the trial's seeded RNG (He-normal for relu layers, Glorot-uniform
 * for the output layer), biases at zero.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { Rng } from '../data/rng.js';

export type ModelType = 'mlp' | 'cnn' | 'linear';

export interface ModelOptions {
  type: ModelType;
  hidden: number[];
  dropout: number;
  filters?: number[];
  inputSize: number;
  numClasses: number;
  /** Image shape [H, W] or [H, W, C] (cnn only). */
  shape?: number[];
  /**
   * cnn: use tf.conv2d (fast on the native tensorflow backends) instead of im2col + matMul (the
   * only way that trains on wasm, which lacks Conv2DBackpropFilter). Same maths either way.
   */
  nativeConv?: boolean;
}

export interface ForwardResult {
  logits: tfType.Tensor2D;
  /** Activations of the last hidden layer (the input itself for a linear model). */
  features: tfType.Tensor2D;
}

export interface Model {
  /** Trainable variables, always in the same order. */
  variables: tfType.Variable[];
  /** Stable names (`dense0/kernel`...), parallel to `variables`. */
  names: string[];
  /** Number of trainable parameters. */
  params: number;
  /** A description of the architecture; checkpoints from another architecture are rejected. */
  signature: string;
  /** Forward pass; `training` applies dropout with masks drawn from `seed`. */
  apply(x: tfType.Tensor2D, options?: { training?: boolean; seed?: number }): ForwardResult;
  /** Σ w² over kernels (not biases), for L2 weight decay. */
  sumSquaredKernels(): tfType.Scalar;
  dispose(): void;
}

export const DEFAULT_CNN_FILTERS = [16, 32];

let modelCounter = 0;

/** [H, W, C] from a declared shape ([H, W] means one channel). */
export function imageShape(shape: number[]): [number, number, number] {
  const [h, w, c] = shape;
  if (h === undefined || w === undefined) throw new Error('an image shape needs at least [height, width]');
  return [h, w, c ?? 1];
}

export function buildModel(tf: typeof tfType, options: ModelOptions, rng: Rng): Model {
  const prefix = `trellis_model_${++modelCounter}`;
  const variables: tfType.Variable[] = [];
  const names: string[] = [];
  const kernels: tfType.Variable[] = [];

  const heNormal = (shape: number[], fanIn: number): Float32Array => {
    const n = shape.reduce((a, b) => a * b, 1);
    const std = Math.sqrt(2 / fanIn);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
    return out;
  };
  const glorotUniform = (shape: number[], fanIn: number, fanOut: number): Float32Array => {
    const n = shape.reduce((a, b) => a * b, 1);
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (rng.float() * 2 - 1) * limit;
    return out;
  };
  const addVariable = (name: string, shape: number[], values: Float32Array, isKernel: boolean): tfType.Variable => {
    const initial = tf.tensor(values, shape, 'float32');
    const v = tf.variable(initial, true, `${prefix}/${name}`);
    initial.dispose();
    variables.push(v);
    names.push(name);
    if (isKernel) kernels.push(v);
    return v;
  };
  const dense = (name: string, fanIn: number, fanOut: number, output: boolean) => {
    const kernelShape = [fanIn, fanOut];
    const kernelValues = output ? glorotUniform(kernelShape, fanIn, fanOut) : heNormal(kernelShape, fanIn);
    const kernel = addVariable(`${name}/kernel`, kernelShape, kernelValues, true);
    const bias = addVariable(`${name}/bias`, [fanOut], new Float32Array(fanOut), false);
    return { kernel, bias };
  };

  const convLayers: Array<{ kernel: tfType.Variable; bias: tfType.Variable; inC: number; outC: number }> = [];
  let image: [number, number, number] | undefined;
  let width = options.inputSize;
  if (options.type === 'cnn') {
    if (!options.shape) throw new Error('cnn needs an image shape');
    image = imageShape(options.shape);
    let [h, w, c] = image;
    for (const [i, f] of (options.filters ?? DEFAULT_CNN_FILTERS).entries()) {
      const shape = [3, 3, c, f];
      const kernel = addVariable(`conv${i}/kernel`, shape, heNormal(shape, 9 * c), true);
      const bias = addVariable(`conv${i}/bias`, [f], new Float32Array(f), false);
      convLayers.push({ kernel, bias, inC: c, outC: f });
      c = f;
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
    }
    width = h * w * c;
  }
  const hiddenLayers: Array<{ kernel: tfType.Variable; bias: tfType.Variable }> = [];
  if (options.type !== 'linear') {
    for (const [i, units] of options.hidden.entries()) {
      hiddenLayers.push(dense(`dense${i}`, width, units, false));
      width = units;
    }
  }
  const output = dense('output', width, options.numClasses, true);
  const params = variables.reduce((sum, v) => sum + v.size, 0);

  const dropout = (x: tfType.Tensor2D, seed: number): tfType.Tensor2D => {
    const rate = options.dropout;
    const mask = tf.randomUniform(x.shape, 0, 1, 'float32', seed).greaterEqual(rate).cast('float32');
    return tf.mul(x, mask).div(1 - rate) as tfType.Tensor2D;
  };

  const conv = (x: tfType.Tensor4D, layer: (typeof convLayers)[number]): tfType.Tensor4D => {
    if (options.nativeConv) return tf.add(tf.conv2d(x, layer.kernel as tfType.Tensor4D, 1, 'same'), layer.bias);
    const [n, h, w, c] = x.shape;
    const padded = tf.pad(x, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
    const patches: tfType.Tensor4D[] = [];
    for (let dy = 0; dy < 3; dy++) {
      for (let dx = 0; dx < 3; dx++) patches.push(tf.slice(padded, [0, dy, dx, 0], [n, h, w, c]));
    }
    const columns = tf.concat(patches, 3).reshape([n * h * w, 9 * c]);
    const kernel = layer.kernel.reshape([9 * c, layer.outC]);
    return tf.add(tf.matMul(columns, kernel), layer.bias).reshape([n, h, w, layer.outC]);
  };

  const signature = JSON.stringify({
    type: options.type,
    inputSize: options.inputSize,
    numClasses: options.numClasses,
    hidden: options.type === 'linear' ? [] : options.hidden,
    filters: options.type === 'cnn' ? (options.filters ?? DEFAULT_CNN_FILTERS) : undefined,
    shape: image,
  });

  return {
    variables,
    names,
    params,
    signature,
    apply(x, { training = false, seed = 0 } = {}) {
      let h: tfType.Tensor2D = x;
      if (image) {
        let t = x.reshape([x.shape[0], ...image]) as tfType.Tensor4D;
        for (const layer of convLayers) {
          t = tf.relu(conv(t, layer));
          t = tf.maxPool(t, 2, 2, 'same');
        }
        h = t.reshape([x.shape[0], -1]);
      }
      let features = h;
      const useDropout = training && options.dropout > 0;
      for (const [i, layer] of hiddenLayers.entries()) {
        features = tf.relu(tf.add(tf.matMul(h, layer.kernel), layer.bias)) as tfType.Tensor2D;
        h = useDropout ? dropout(features, (seed + i * 0x9e3779b1) >>> 0) : features;
      }
      const logits = tf.add(tf.matMul(h, output.kernel), output.bias) as tfType.Tensor2D;
      return { logits, features };
    },
    sumSquaredKernels() {
      return tf.tidy(() => tf.addN(kernels.map((k) => tf.sum(tf.square(k)))) as tfType.Scalar);
    },
    dispose() {
      for (const v of variables) v.dispose();
    },
  };
}
