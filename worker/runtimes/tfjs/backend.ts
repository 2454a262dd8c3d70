/**
 * Picks the fastest TensorFlow.js backend available in this process:
 *
 *   @tensorflow/tfjs-node-gpu (only when a GPU is wanted) → @tensorflow/tfjs-node → wasm → cpu
 *
 * Each candidate is loaded with a dynamic `import()` inside try/catch, so a package that is not
 * installed, or is installed but fails to load (missing libtensorflow, CUDA libraries), falls
 * through to the next. The native packages register their backend into `@tensorflow/tfjs`, which
 * is what callers get back as `tf`.
 *
 * `TRELLIS_TF_BACKEND=cpu|wasm|tensorflow|tensorflow-gpu` forces one (tests, benchmarks); a
 * forced backend that cannot load is an error that says how to set it up. `@tensorflow/tfjs-node`
 * loads only after scripts/setup-native-tf.sh (its own install script, which downloads
 * libtensorflow, is not run), so a fresh install falls through to wasm exactly as before. The choice is made once per process: native
 * backends cannot be unloaded, so later calls return the first result whatever they prefer.
 */
import type * as tfType from '@tensorflow/tfjs';
import { env } from '../../../shared/env.js';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface Backend {
  name: BackendName;
  tf: typeof tfType;
}

let selected: Promise<Backend> | undefined;

/** Selects (once per process) and initialises the backend. */
export function selectBackend(preferGpu = false): Promise<Backend> {
  if (!selected) {
    selected = choose(preferGpu);
    // A failed selection (forced backend unavailable) may be retried after fixing the env.
    selected.catch(() => {
      selected = undefined;
    });
  }
  return selected;
}

/** The backend already selected in this process, if any (no side effects). */
export function selectedBackend(): Promise<Backend> | undefined {
  return selected;
}

async function loadTf(): Promise<typeof tfType> {
  const tf = await import('@tensorflow/tfjs');
  // Namespace objects of CommonJS modules carry the exports on `default` too.
  return ((tf as unknown as { default?: typeof tfType }).default ?? tf) as typeof tfType;
}

type Attempt = () => Promise<boolean>;

/** How to get the native CPU backend (README "Native TensorFlow"). */
export const NATIVE_HINT =
  'the native backend needs a one-time build: run scripts/setup-native-tf.sh (libtensorflow 2.9.1 from PyPI, then the tfjs-node binding; README "Native TensorFlow")';

async function choose(preferGpu: boolean): Promise<Backend> {
  // Checked when the environment is parsed: one of TF_BACKENDS, or unset.
  const forced = env().TRELLIS_TF_BACKEND;
  const tf = await loadTf();
  const failures: string[] = [];

  const nativeAttempt =
    (pkg: string): Attempt =>
    async () => {
      try {
        await import(pkg);
      } catch (err) {
        failures.push(`${pkg}: ${firstLine(err)}`);
        return false;
      }
      return setBackend(tf, 'tensorflow', failures);
    };
  const wasmAttempt: Attempt = async () => {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
    } catch (err) {
      failures.push(`@tensorflow/tfjs-backend-wasm: ${firstLine(err)}`);
      return false;
    }
    return setBackend(tf, 'wasm', failures);
  };
  const cpuAttempt: Attempt = async () => {
    const ok = await setBackend(tf, 'cpu', failures);
    if (ok) silenceCpuBanner(tf);
    return ok;
  };

  const candidates: Array<[BackendName, Attempt]> = [];
  if (forced) {
    if (forced === 'tensorflow-gpu') candidates.push(['tensorflow-gpu', nativeAttempt('@tensorflow/tfjs-node-gpu')]);
    else if (forced === 'tensorflow') {
      if (preferGpu) candidates.push(['tensorflow-gpu', nativeAttempt('@tensorflow/tfjs-node-gpu')]);
      candidates.push(['tensorflow', nativeAttempt('@tensorflow/tfjs-node')]);
    } else if (forced === 'wasm') candidates.push(['wasm', wasmAttempt]);
    else candidates.push(['cpu', cpuAttempt]);
  } else {
    if (preferGpu) candidates.push(['tensorflow-gpu', nativeAttempt('@tensorflow/tfjs-node-gpu')]);
    candidates.push(['tensorflow', nativeAttempt('@tensorflow/tfjs-node')]);
    candidates.push(['wasm', wasmAttempt]);
    candidates.push(['cpu', cpuAttempt]);
  }
  for (const [name, attempt] of candidates) {
    if (await attempt()) return { name, tf };
  }
  throw new Error(
    `no TensorFlow.js backend could be loaded${forced ? ` (TRELLIS_TF_BACKEND=${forced})` : ''}: ${failures.join('; ')}` +
      (forced === 'tensorflow' ? `; ${NATIVE_HINT}` : ''),
  );
}

async function setBackend(tf: typeof tfType, name: string, failures: string[]): Promise<boolean> {
  try {
    if (!tf.findBackendFactory(name)) {
      failures.push(`${name}: backend not registered`);
      return false;
    }
    const ok = await tf.setBackend(name);
    if (!ok) failures.push(`${name}: failed to initialise`);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch (err) {
    failures.push(`${name}: ${firstLine(err)}`);
    return false;
  }
}

/** The cpu backend prints "install tfjs-node" on first use; we chose it knowingly. */
function silenceCpuBanner(tf: typeof tfType): void {
  const backend = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (backend && 'firstUse' in backend) backend.firstUse = false;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
