/**
 * The built-in datasets (shipped under `datasets/`) as descriptions: where their files are,
 * which column is the label, their image shape. Both sides read it: the coordinator to check a
 * spec's `trial.dataset` at submit, the worker (`worker/data/datasets.ts`) to find the files.
 */
import type { DatasetSpec } from '../spec/schema.js';

export interface BuiltinDataset {
  name: string;
  description: string;
  /** Training file, relative to the package root (or absolute). */
  train: string;
  /** Separate test file, if the dataset has one. */
  test?: string;
  label: string;
  group?: string;
  /** Column names for copies of the files without a header line. */
  columns?: string[];
  /** Image shape of the features (for CNNs). */
  shape?: number[];
}

const optdigitsColumns = [...Array.from({ length: 64 }, (_, i) => `Block ${i + 1}`), 'Class'];

const builtins = new Map<string, BuiltinDataset>();

/** Adds (or replaces) a built-in dataset; tests use it to register small fixtures. */
export function registerBuiltinDataset(dataset: BuiltinDataset): void {
  builtins.set(dataset.name, dataset);
}

registerBuiltinDataset({
  name: 'optdigits',
  description: 'UCI optical recognition of handwritten digits: 8x8 images of counts 0..16, classes 0..9',
  train: 'datasets/optdigits/optdigits.tra',
  test: 'datasets/optdigits/optdigits.tes',
  label: 'Class',
  columns: optdigitsColumns,
  shape: [8, 8, 1],
});

registerBuiltinDataset({
  name: 'spurious',
  description:
    'synthetic grouped binary task with a spurious attribute (Waterbirds-style; scripts/gen-spurious.mjs): 4 groups y{0,1}_a{0,1}, minority groups 5% each',
  train: 'datasets/spurious/train.csv',
  test: 'datasets/spurious/test.csv',
  label: 'label',
  group: 'group',
});

export function builtinDatasetNames(): string[] {
  return [...builtins.keys()].sort();
}

export function getBuiltinDataset(name: string): BuiltinDataset | undefined {
  return builtins.get(name);
}

export function listBuiltinDatasets(): BuiltinDataset[] {
  return [...builtins.values()];
}

/** Problems with a dataset spec that can be found without reading files. */
export function datasetSpecProblems(spec: DatasetSpec): string[] {
  if (typeof spec === 'string') {
    return builtins.has(spec)
      ? []
      : [`unknown built-in dataset "${spec}"; built-ins: ${builtinDatasetNames().join(', ')} (or give {path, label})`];
  }
  return [];
}

/** The image shape a dataset spec declares (built-ins carry their own). */
export function datasetShape(spec: DatasetSpec): number[] | undefined {
  if (typeof spec === 'string') return builtins.get(spec)?.shape;
  return spec.shape;
}
