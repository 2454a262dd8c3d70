/**
 * Runtimes by name. Loaded lazily: a worker that only runs commands never loads TensorFlow.js.
 */
import type { Runtime } from './base.js';

const LOADERS: Record<string, () => Promise<Runtime>> = {
  tfjs: async () => (await import('./tfjs/runtime.js')).tfjsRuntime,
  command: async () => (await import('./command/runtime.js')).commandRuntime,
};

const loaded = new Map<string, Promise<Runtime>>();

export function runtimeNames(): string[] {
  return Object.keys(LOADERS);
}

export function getRuntime(name: string): Promise<Runtime> {
  const loader = LOADERS[name];
  if (!loader) {
    return Promise.reject(new Error(`runtime "${name}" is unknown; allowed: ${runtimeNames().join(', ')}`));
  }
  let runtime = loaded.get(name);
  if (!runtime) {
    runtime = loader();
    loaded.set(name, runtime);
  }
  return runtime;
}
