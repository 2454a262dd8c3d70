/**
 * Turning string cells into model inputs: missing-value detection, column typing, numeric
 * standardisation and one-hot encoding (both fitted on the training split only), label and
 * group indexing.
 */
import { isNumeric } from './csv.js';

const MISSING = new Set(['', '?', 'na', 'nan', 'n/a', 'null']);

/** Empty, `?`, `NA`, `NaN` (any case), `N/A`, `null`. */
export function isMissing(value: string): boolean {
  return MISSING.has(value.trim().toLowerCase());
}

export type ColumnKind = 'numeric' | 'categorical';

/** A column is numeric when every non-missing value is a plain number. */
export function columnKind(values: Iterable<string>): ColumnKind {
  for (const value of values) {
    if (!isMissing(value) && !isNumeric(value)) return 'categorical';
  }
  return 'numeric';
}

export interface NumericStats {
  mean: number;
  /** Population standard deviation, 1 when it is 0. */
  std: number;
}

export interface ColumnEncoding {
  name: string;
  kind: ColumnKind;
  /** Numeric columns: training mean/std. */
  stats?: NumericStats;
  /** Categorical columns: the categories seen in training, sorted; one output per category. */
  categories?: string[];
}

/** Fitted feature encoding: standardised numerics and one-hot categoricals, in column order. */
export interface FeatureEncoder {
  columns: ColumnEncoding[];
  /** Output names: `col` for numerics, `col=value` for one-hot outputs. */
  featureNames: string[];
  numFeatures: number;
}

export function meanStd(values: ArrayLike<number>): NumericStats {
  const n = values.length;
  if (n === 0) return { mean: 0, std: 1 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    sq += d * d;
  }
  const std = Math.sqrt(sq / n);
  return { mean, std: std > 1e-12 ? std : 1 };
}

/**
 * Fits the encoder on the training rows. `cells(row, c)` returns the raw string of feature column
 * `c` for a row index; `kinds` gives each column's type (decided over all rows beforehand).
 */
export function fitEncoder(
  names: string[],
  kinds: ColumnKind[],
  trainRows: ArrayLike<number>,
  cell: (row: number, column: number) => string,
): FeatureEncoder {
  const columns: ColumnEncoding[] = [];
  const featureNames: string[] = [];
  for (let c = 0; c < names.length; c++) {
    const name = names[c]!;
    if (kinds[c] === 'numeric') {
      const values = new Float64Array(trainRows.length);
      for (let i = 0; i < trainRows.length; i++) values[i] = Number(cell(trainRows[i]!, c));
      columns.push({ name, kind: 'numeric', stats: meanStd(values) });
      featureNames.push(name);
    } else {
      const seen = new Set<string>();
      for (let i = 0; i < trainRows.length; i++) seen.add(cell(trainRows[i]!, c).trim());
      const categories = [...seen].sort();
      columns.push({ name, kind: 'categorical', categories });
      for (const category of categories) featureNames.push(`${name}=${category}`);
    }
  }
  return { columns, featureNames, numFeatures: featureNames.length };
}

/** Encodes rows into a row-major [rows.length, numFeatures] matrix. Unseen categories → all zeros. */
export function encodeRows(
  encoder: FeatureEncoder,
  rows: ArrayLike<number>,
  cell: (row: number, column: number) => string,
): Float32Array {
  const d = encoder.numFeatures;
  const out = new Float32Array(rows.length * d);
  const lookups = encoder.columns.map((col) =>
    col.categories ? new Map(col.categories.map((category, i) => [category, i])) : undefined,
  );
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    let offset = i * d;
    for (let c = 0; c < encoder.columns.length; c++) {
      const col = encoder.columns[c]!;
      if (col.kind === 'numeric') {
        const stats = col.stats!;
        out[offset++] = (Number(cell(row, c)) - stats.mean) / stats.std;
      } else {
        const index = lookups[c]!.get(cell(row, c).trim());
        if (index !== undefined) out[offset + index] = 1;
        offset += col.categories!.length;
      }
    }
  }
  return out;
}

/**
 * Maps raw values to indices of their sorted distinct values; numeric values are compared (and
 * sorted) as numbers, so `1` and `1.0` are the same class and `10` sorts after `9`.
 */
export function indexValues(values: string[]): { names: string[]; index: Int32Array; lookup: Map<string, number> } {
  const numeric = values.every((v) => isNumeric(v));
  const key = (v: string): string => (numeric ? String(Number(v)) : v.trim());
  const distinct = [...new Set(values.map(key))];
  if (numeric) distinct.sort((a, b) => Number(a) - Number(b));
  else distinct.sort();
  const lookup = new Map(distinct.map((name, i) => [name, i]));
  const index = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) index[i] = lookup.get(key(values[i]!))!;
  // Accept lookups by the raw spelling too.
  for (const v of values) if (!lookup.has(v)) lookup.set(v, lookup.get(key(v))!);
  return { names: distinct, index, lookup };
}
