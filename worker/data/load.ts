/**
 * Loads a trial's dataset into train / validation / test matrices:
 *
 * 1. read the CSV file(s) (a built-in's files, or the spec's `path` and optional `test`);
 * 2. drop rows with a missing value in a used column (features, label, group) and count them;
 * 3. map labels to class indices (sorted distinct values, numerically when numeric) and group
 *    values to group indices;
 * 4. split deterministically by seed (validation from the training file when a test file exists);
 * 5. training split only: imbalance (keep a fraction of some classes), then label noise;
 * 6. standardise numeric columns and one-hot string columns with training-split statistics.
 */
import type { TrialConfig } from '../../shared/spec/schema.js';
import { PermanentRunError, type DataSandbox } from '../runtimes/base.js';
import { readCsvTable, type CsvTable } from './csv.js';
import { resolveDatasetSource, type DatasetSource } from './datasets.js';
import { applyImbalance, applyLabelNoise } from './noise.js';
import { columnKind, encodeRows, fitEncoder, indexValues, isMissing, type FeatureEncoder } from './preprocess.js';
import { splitIndices } from './split.js';

export interface DataSplit {
  /** Row-major [size, numFeatures] features. */
  x: Float32Array;
  /** Class indices (training: after label noise). */
  y: Int32Array;
  /** Row ids: position of the row among the dataset's kept rows (training file first, then test file). */
  ids: Int32Array;
  /** Group indices (into `groupNames`) when the dataset has a group column. */
  groups?: Int32Array;
  size: number;
}

export interface PreparedDataset {
  name: string;
  source: DatasetSource;
  featureNames: string[];
  numFeatures: number;
  /** Class names (the label values), index = class index. */
  classes: string[];
  numClasses: number;
  groupNames?: string[];
  /** Image shape when the dataset declares one. */
  shape?: number[];
  encoder: FeatureEncoder;
  train: DataSplit & { cleanY: Int32Array };
  validation: DataSplit;
  test: DataSplit;
  /** Rows dropped for a missing value in a used column (all files). */
  droppedRows: number;
  /** Training labels changed by label noise. */
  flippedLabels: number;
  /** Training rows removed by `imbalance`. */
  imbalanceRemoved: number;
  /** Whether the training file had a header line. */
  hadHeader: boolean;
}

export type DataConfig = Pick<TrialConfig, 'dataset' | 'split' | 'labelNoise' | 'imbalance'>;

function listColumns(columns: string[]): string {
  const shown = columns.slice(0, 12).map((c) => JSON.stringify(c));
  return shown.join(', ') + (columns.length > 12 ? `, … (${columns.length} columns)` : '');
}

/** `quotable`: a built-in's header may be listed; a spec's own file's is never echoed (it could be any file). */
function columnIndex(table: CsvTable, column: string, role: string, file: string, quotable: boolean): number {
  const index = table.columns.indexOf(column);
  if (index < 0) {
    const hint =
      !table.hadHeader || table.columns.every((c) => /^[-+.\deE]+$/.test(c))
        ? ' (does the file have a header line?)'
        : '';
    const columns = quotable
      ? `columns: ${listColumns(table.columns)}`
      : `it has ${table.columns.length} columns (not listed: errors never quote a dataset's contents)`;
    throw new PermanentRunError(`${role} column "${column}" not found in ${file}; ${columns}${hint}`);
  }
  return index;
}

/** Loads the dataset; files are read under the worker's `sandbox` (data roots, size limit: sandbox.ts). */
export function loadDataset(config: DataConfig, seed: number, sandbox?: DataSandbox): PreparedDataset {
  if (config.dataset === undefined) throw new PermanentRunError('trial.dataset: required');
  const source = resolveDatasetSource(config.dataset);
  const readOptions = {
    ...(source.defaultColumns ? { defaultColumns: source.defaultColumns } : {}),
    ...(sandbox ? { sandbox } : {}),
    builtin: source.builtin,
  };
  const trainTable = readCsvTable(source.trainPath, readOptions);
  const testTable = source.testPath ? readCsvTable(source.testPath, readOptions) : undefined;

  const featureNames = source.features ?? trainTable.columns.filter((c) => c !== source.label && c !== source.group);
  if (featureNames.length === 0)
    throw new PermanentRunError(`${source.trainPath}: no feature columns besides the label`);
  if (featureNames.includes(source.label)) {
    throw new PermanentRunError(`trial.dataset.features: the label column "${source.label}" cannot be a feature`);
  }
  // Used columns, in record order: features..., label, group?
  const used = [...featureNames, source.label, ...(source.group ? [source.group] : [])];
  const roles = [...featureNames.map(() => 'feature'), 'label', ...(source.group ? ['group'] : [])];

  const records: string[][] = [];
  let droppedRows = 0;
  let trainFileRows = 0;
  const tables: Array<[CsvTable, string]> = [[trainTable, source.trainPath]];
  if (testTable) tables.push([testTable, source.testPath!]);
  for (const [t, [table, file]] of tables.entries()) {
    const indices = used.map((column, i) => columnIndex(table, column, roles[i]!, file, source.builtin));
    for (const row of table.rows) {
      const record = indices.map((i) => row[i]!);
      if (record.some((value) => isMissing(value))) {
        droppedRows++;
        continue;
      }
      records.push(record);
    }
    if (t === 0) trainFileRows = records.length;
  }
  if (trainFileRows === 0) {
    throw new PermanentRunError(`${source.trainPath}: no usable rows (${droppedRows} dropped for missing values)`);
  }

  const nFeatures = featureNames.length;
  const labelCol = nFeatures;
  const groupCol = nFeatures + 1;
  const kinds = featureNames.map((_, c) => columnKind(records.map((r) => r[c]!)));
  const labels = indexValues(records.map((r) => r[labelCol]!));
  const groups = source.group ? indexValues(records.map((r) => r[groupCol]!)) : undefined;

  const split = config.split ?? { validation: 0.15, test: 0.15 };
  let trainRows: Int32Array;
  let valRows: Int32Array;
  let testRows: Int32Array;
  if (testTable) {
    const s = splitIndices(trainFileRows, split, seed, true);
    trainRows = s.train;
    valRows = s.validation;
    testRows = Int32Array.from({ length: records.length - trainFileRows }, (_, i) => trainFileRows + i);
  } else {
    const s = splitIndices(records.length, split, seed);
    trainRows = s.train;
    valRows = s.validation;
    testRows = s.test;
  }

  let imbalanceRemoved = 0;
  if (config.imbalance) {
    const wanted = new Set<number>();
    for (const value of config.imbalance.classes) {
      const raw = String(value);
      const index = labels.lookup.get(raw) ?? labels.lookup.get(String(Number(raw)));
      if (index === undefined) {
        throw new PermanentRunError(
          `trial.imbalance.classes: ${JSON.stringify(value)} is not a class of ${source.name} ` +
            (source.builtin ? `(classes: ${labels.names.join(', ')})` : `(it has ${labels.names.length} classes)`),
        );
      }
      wanted.add(index);
    }
    const trainLabels = Int32Array.from(trainRows, (r) => labels.index[r]!);
    const kept = applyImbalance(trainLabels, wanted, config.imbalance.fraction, seed);
    imbalanceRemoved = trainRows.length - kept.length;
    trainRows = Int32Array.from(kept, (k) => trainRows[k]!);
    if (trainRows.length === 0) throw new PermanentRunError('trial.imbalance: no training rows left');
  }

  const cell = (row: number, column: number): string => records[row]![column]!;
  const encoder = fitEncoder(featureNames, kinds, trainRows, cell);
  const numClasses = labels.names.length;

  const makeSplit = (rows: Int32Array): DataSplit => ({
    x: encodeRows(encoder, rows, cell),
    y: Int32Array.from(rows, (r) => labels.index[r]!),
    ids: rows.slice(),
    ...(groups ? { groups: Int32Array.from(rows, (r) => groups.index[r]!) } : {}),
    size: rows.length,
  });
  const train = makeSplit(trainRows);
  const cleanY = train.y.slice();
  const flippedLabels = config.labelNoise ? applyLabelNoise(train.y, numClasses, config.labelNoise, seed) : 0;

  return {
    name: source.name,
    source,
    featureNames: encoder.featureNames,
    numFeatures: encoder.numFeatures,
    classes: labels.names,
    numClasses,
    ...(groups ? { groupNames: groups.names } : {}),
    ...(source.shape ? { shape: source.shape } : {}),
    encoder,
    train: { ...train, cleanY },
    validation: makeSplit(valRows),
    test: makeSplit(testRows),
    droppedRows,
    flippedLabels,
    imbalanceRemoved,
    hadHeader: trainTable.hadHeader,
  };
}
