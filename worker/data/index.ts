export { parseCsv, readCsvTable, isNumeric, type CsvTable, type ParsedCsv } from './csv.js';
export {
  registerBuiltinDataset,
  builtinDatasetNames,
  getBuiltinDataset,
  resolveDatasetSource,
  datasetSpecProblems,
  datasetShape,
  type BuiltinDataset,
  type DatasetSource,
} from './datasets.js';
export { loadDataset, type DataConfig, type DataSplit, type PreparedDataset } from './load.js';
export { applyImbalance, applyLabelNoise, type LabelNoiseKind } from './noise.js';
export { isMissing, meanStd, type FeatureEncoder, type NumericStats } from './preprocess.js';
export { Rng, deriveSeed } from './rng.js';
export { splitIndices, type SplitFractions, type SplitIndices } from './split.js';
