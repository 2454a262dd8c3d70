/**
 * Dataset sources: the built-in datasets (described in `shared/catalogue/datasets.ts`) and CSV
 * files named in the spec (`{path, label, group?, features?, test?, shape?}`, paths relative to the process cwd).
 */
import { basename, isAbsolute, join, resolve } from 'node:path';
import { projectRoot } from '../../shared/paths.js';
import type { DatasetSpec } from '../../shared/spec/schema.js';
import { PermanentRunError } from '../runtimes/base.js';
import { datasetSpecProblems, getBuiltinDataset, listBuiltinDatasets } from '../../shared/catalogue/datasets.js';

export {
  builtinDatasetNames,
  datasetShape,
  datasetSpecProblems,
  getBuiltinDataset,
  registerBuiltinDataset,
  type BuiltinDataset,
} from '../../shared/catalogue/datasets.js';

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
  /**
   * Shipped with the worker: exempt from the data-roots rule (sandbox.ts), and its contents
   * (column and class names) may appear in messages. A spec's own file's never do.
   */
  builtin: boolean;
}

function builtinPath(file: string): string {
  return isAbsolute(file) ? file : join(projectRoot(), file);
}

/** Column names for a header-less copy of a built-in's file, matched by file name. */
function defaultColumnsFor(path: string): string[] | undefined {
  const name = basename(path);
  for (const dataset of listBuiltinDatasets()) {
    if (!dataset.columns) continue;
    if (basename(dataset.train) === name || (dataset.test && basename(dataset.test) === name)) return dataset.columns;
  }
  return undefined;
}

/** Resolves a spec to files and columns. Unknown built-in → PermanentRunError. */
export function resolveDatasetSource(spec: DatasetSpec): DatasetSource {
  if (typeof spec === 'string') {
    const dataset = getBuiltinDataset(spec);
    if (!dataset) throw new PermanentRunError(`trial.dataset: ${datasetSpecProblems(spec)[0]}`);
    return {
      name: dataset.name,
      trainPath: builtinPath(dataset.train),
      ...(dataset.test ? { testPath: builtinPath(dataset.test) } : {}),
      label: dataset.label,
      ...(dataset.group ? { group: dataset.group } : {}),
      ...(dataset.shape ? { shape: [...dataset.shape] } : {}),
      ...(dataset.columns ? { defaultColumns: dataset.columns } : {}),
      builtin: true,
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
    builtin: false,
  };
}
