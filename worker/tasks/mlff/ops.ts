/**
 * Element-wise ops whose gradients stay correct at every order in tfjs.
 *
 * tfjs saves the *outputs* some kernels need for their gradient (tanh, exp, sigmoid, pow...) as
 * clones whose tape node is recorded before the kernel's own node, so a second backward pass
 * never routes gradient through them: `tf.grad(tf.grad(tf.tanh))` throws, and the weight
 * gradient of a force loss (`∂/∂θ of −∂E/∂R`) silently misses terms (checked against central
 * differences in test/unit/asteroid.test.ts). These versions save the *input* and express the
 * derivative with themselves (`tanh' = 1 − tanh²`, `exp' = exp`), so every order is taped
 * correctly; `clampMax` replaces `tf.minimum`, whose gradient uses `lessEqual` (no gradient of
 * its own, needed at third order by score matching).
 */
import type * as tfNs from '@tensorflow/tfjs';

type TF = typeof tfNs;
type Unary = (x: tfNs.Tensor) => tfNs.Tensor;

const cache = new WeakMap<object, { tanh: Unary; exp: Unary }>();

function opsFor(tf: TF): { tanh: Unary; exp: Unary } {
  let ops = cache.get(tf);
  if (ops) return ops;
  const tanh: Unary = tf.customGrad(((x: tfNs.Tensor, save: tfNs.GradSaveFunc) => {
    save([x]);
    return {
      value: tf.tanh(x),
      gradFunc: (dy: tfNs.Tensor, saved: tfNs.Tensor[]) => tf.mul(dy, tf.sub(1, tf.square(tanh(saved[0]!)))),
    };
  }) as unknown as Parameters<TF['customGrad']>[0]) as unknown as Unary;
  const exp: Unary = tf.customGrad(((x: tfNs.Tensor, save: tfNs.GradSaveFunc) => {
    save([x]);
    return { value: tf.exp(x), gradFunc: (dy: tfNs.Tensor, saved: tfNs.Tensor[]) => tf.mul(dy, exp(saved[0]!)) };
  }) as unknown as Parameters<TF['customGrad']>[0]) as unknown as Unary;
  ops = { tanh, exp };
  cache.set(tf, ops);
  return ops;
}

/** tanh with gradients correct at every order. */
export function tanh(tf: TF, x: tfNs.Tensor): tfNs.Tensor {
  return opsFor(tf).tanh(x);
}

/** exp with gradients correct at every order. */
export function exp(tf: TF, x: tfNs.Tensor): tfNs.Tensor {
  return opsFor(tf).exp(x);
}

/** min(x, c) as c − relu(c − x): differentiable at every order (relu's gradient is a step, whose gradient is 0). */
export function clampMax(tf: TF, x: tfNs.Tensor, c: number): tfNs.Tensor {
  return tf.sub(c, tf.relu(tf.sub(c, x)));
}
