/**
 * Dataset sources: the built-in datasets (shipped under `datasets/`) and CSV files named in the
 * spec (`{path, label, group?, features?, test?, shape?}`, paths relative to the process cwd).
 */
import { basename, isAbsolute, join, resolve } from 'node:path';
import { projectRoot } from '../../shared/paths.js';
import type { DatasetSpec } from '../../shared/spec/schema.js';
import { PermanentRunError } from '../runtimes/base.js';

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

/** Where to read a dataset from, with the columns that play each role. */
export interface DatasetSource {
  name: string;
  trainPath: string;
  testPath?: string;
  label: string;
  group?: string;
  features?: string[];
  shape?: number[];
  /** Column names to use when a file has no header line (built-ins only). */
  defaultColumns?: string[];
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

export function builtinDatasetNames(): string[] {
  return [...builtins.keys()].sort();
}

export function getBuiltinDataset(name: string): BuiltinDataset | undefined {
  return builtins.get(name);
}

function builtinPath(file: string): string {
  return isAbsolute(file) ? file : join(projectRoot(), file);
}

/** Column names for a header-less copy of a built-in's file, matched by file name. */
function defaultColumnsFor(path: string): string[] | undefined {
  const name = basename(path);
  for (const dataset of builtins.values()) {
    if (!dataset.columns) continue;
    if (basename(dataset.train) === name || (dataset.test && basename(dataset.test) === name)) return dataset.columns;
  }
  return undefined;
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

/** Resolves a spec to files and columns. Unknown built-in → PermanentRunError. */
export function resolveDatasetSource(spec: DatasetSpec): DatasetSource {
  if (typeof spec === 'string') {
    const dataset = builtins.get(spec);
    if (!dataset) throw new PermanentRunError(`trial.dataset: ${datasetSpecProblems(spec)[0]}`);
    return {
      name: dataset.name,
      trainPath: builtinPath(dataset.train),
      ...(dataset.test ? { testPath: builtinPath(dataset.test) } : {}),
      label: dataset.label,
      ...(dataset.group ? { group: dataset.group } : {}),
      ...(dataset.shape ? { shape: [...dataset.shape] } : {}),
      ...(dataset.columns ? { defaultColumns: dataset.columns } : {}),
    };
  }
  const trainPath = resolve(spec.path);
  const testPath = spec.test ? resolve(spec.test) : undefined;
  const defaultColumns = defaultColumnsFor(trainPath);
  return {
    name: basename(spec.path),
    trainPath,
    ...(testPath ? { testPath } : {}),
    label: spec.label,
    ...(spec.group ? { group: spec.group } : {}),
    ...(spec.features ? { features: [...spec.features] } : {}),
    ...(spec.shape ? { shape: [...spec.shape] } : {}),
    ...(defaultColumns ? { defaultColumns } : {}),
  };
}
