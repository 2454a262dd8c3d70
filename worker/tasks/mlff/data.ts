/**
 * The MLFF stages' data sets, regenerated or re-read from the data seed in every stage (frames
 * never travel between stages):
 *
 * - `system: morse-toy`: seeded Monte Carlo chains of the toy (system.ts), one chain per set
 *   (accurate training, cheap, validation, test); the n-frame training set is the first n frames
 *   of its chain, so the test set depends only on the data seed.
 * - `system: ethanol` (or another molecule with a data set file): frames of the PySCF data set
 *   (chem-data.ts), split by the data seed.
 */
import { fnv1a } from '../../../shared/hash.js';
import { flatten3, generateFrames, mixSeed, type Frames } from './system.js';
import { chemHeldOutFrames, chemTrainFrames, loadChemDataset, SHIPPED_DATASETS } from './chem-data.js';

/** Stream ids mixed into the data seed, one MC chain per set. */
const STREAM = { train: 11, cheap: 12, val: 13, test: 14 } as const;

export type SystemName = 'morse-toy' | 'ethanol';

export interface SystemOptions {
  system: SystemName;
  /** Data set file (molecules); default the shipped one. */
  dataset?: string | undefined;
  atoms: number;
  temperature: number;
  dataSeed: number;
  valFrames: number;
  testFrames: number;
}

/** The data set file of a molecular system. */
export function datasetPath(sys: Pick<SystemOptions, 'system' | 'dataset'>): string {
  const path = sys.dataset ?? SHIPPED_DATASETS[sys.system];
  if (!path) throw new Error(`system ${sys.system} has no shipped data set; give options.dataset`);
  return path;
}

export function trainFrames(sys: SystemOptions, data: 'accurate' | 'cheap', n: number): Frames {
  if (sys.system !== 'morse-toy') return chemTrainFrames(loadChemDataset(datasetPath(sys)), data, sys.dataSeed, n, sys);
  return generateFrames({
    n,
    seed: mixSeed(sys.dataSeed, data === 'accurate' ? STREAM.train : STREAM.cheap),
    potential: data,
    temperature: sys.temperature,
    atoms: sys.atoms,
  });
}

export function heldOutFrames(sys: SystemOptions, which: 'val' | 'test'): Frames {
  if (sys.system !== 'morse-toy') return chemHeldOutFrames(loadChemDataset(datasetPath(sys)), which, sys.dataSeed, sys);
  return generateFrames({
    n: which === 'val' ? sys.valFrames : sys.testFrames,
    seed: mixSeed(sys.dataSeed, STREAM[which]),
    potential: 'accurate',
    temperature: sys.temperature,
    atoms: sys.atoms,
  });
}

/** Atomic numbers and atom count of the system (undefined species: the one-element toy). */
export function speciesOf(sys: SystemOptions): { atoms: number; species?: number[] } {
  if (sys.system === 'morse-toy') return { atoms: sys.atoms };
  const d = loadChemDataset(datasetPath(sys));
  return { atoms: d.atomicNumbers.length, species: [...d.atomicNumbers] };
}

/** FNV-1a over the float32 positions: lets a stage check it regenerated the frames it was given weights for. */
export function framesHash(frames: Frames): string {
  return fnv1a(new Uint8Array(flatten3(frames.positions).buffer))
    .toString(16)
    .padStart(8, '0');
}
