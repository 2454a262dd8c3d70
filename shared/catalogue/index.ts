/**
 * The catalogue: what the coordinator and the worker must agree on about tasks, losses and
 * built-in datasets (names, params with types, ranges and defaults as zod schemas, the inputs a
 * loss needs, the outputs a task produces, default objectives), with no training code and no
 * TensorFlow.js. The coordinator validates from it alone; the worker binds its implementations
 * to these names (`worker/tasks/registry.ts`, `worker/losses/registry.ts`).
 */
export * from './losses.js';
export * from './loss-params.js';
export * from './datasets.js';
export * from './tasks/index.js';
