/**
 * Molecular data sets for the MLFF stages: the file `chem/trellis_chem.py assemble` writes
 * (gzip'd JSON, format `trellis-mlff-dataset/v1`): one molecule, its atomic numbers, and per
 * level of theory (`cheap`, `accurate`) positions (Å), energies (kcal/mol, relative to the
 * level's energy at the sampling reference geometry), forces (kcal/(mol·Å)), geometry hashes
 * and provenance (method, basis, program, version).
 *
 * The shipped ethanol set is `datasets/ethanol.json.gz`; `options.dataset` names another file.
 * Splits are by seed: each level's frames are permuted with the data seed; the accurate test
 * and validation sets are the first frames of the permutation and the training set the next
 * ones, so every arm of one seed (any budget) shares the test set.
 */
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { mixSeed, Rng, type Frames } from './system.js';

export interface LevelData {
  id: string;
  method: string;
  basis: string;
  program: string;
  version: string;
  frames: number;
  positions: number[][][];
  energies: number[];
  forces: number[][][];
  hashes: string[];
  /** Indices of the frames in the sampled geometries file. */
  indices?: number[];
  referenceEnergyHartree?: number;
}

export interface ChemDataset {
  format: 'trellis-mlff-dataset/v1';
  molecule: string;
  species: string[];
  atomicNumbers: number[];
  sampling: { method: string; temperature: number; seed: number };
  geometriesHash: string;
  levels: { cheap: LevelData; accurate: LevelData };
}

/** Molecules with a shipped data set, by system name. */
export const SHIPPED_DATASETS: Record<string, string> = {
  ethanol: fileURLToPath(new URL('../../../../datasets/ethanol.json.gz', import.meta.url)),
};

function check(cond: boolean, path: string, why: string): void {
  if (!cond) throw new Error(`invalid MLFF data set ${path}: ${why}`);
}

function checkLevel(level: unknown, name: string, atoms: number, path: string): LevelData {
  check(typeof level === 'object' && level !== null, path, `levels.${name} missing`);
  const l = level as LevelData;
  const n = l.energies?.length;
  check(Number.isInteger(n) && n > 0, path, `levels.${name}.energies must be a non-empty list`);
  check(
    Array.isArray(l.positions) && l.positions.length === n && Array.isArray(l.forces) && l.forces.length === n,
    path,
    `levels.${name}: positions, energies and forces must have the same number of frames`,
  );
  const shaped = (x: number[][]): boolean =>
    Array.isArray(x) &&
    x.length === atoms &&
    x.every((r) => Array.isArray(r) && r.length === 3 && r.every((v) => Number.isFinite(v)));
  check(
    l.positions.every(shaped) && l.forces.every(shaped) && l.energies.every((e) => Number.isFinite(e)),
    path,
    `levels.${name}: every frame must be [${atoms}][3] finite numbers`,
  );
  return l;
}

const cache = new Map<string, { mtimeMs: number; data: ChemDataset }>();

/** Reads and checks a data set file (gzip'd or plain JSON); cached per path and mtime. */
export function loadChemDataset(path: string): ChemDataset {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch (err) {
    throw new Error(`MLFF data set ${path}: ${(err as Error).message}`);
  }
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.data;
  let raw = readFileSync(path);
  let d: ChemDataset;
  try {
    if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
    d = JSON.parse(raw.toString('utf8')) as ChemDataset;
  } catch (err) {
    // Not the parser's message: it quotes the file's bytes, and trial errors reach every client.
    throw new Error(`invalid MLFF data set ${path}: not gzip'd or plain JSON (${(err as Error).name})`);
  }
  check(typeof d === 'object' && d !== null, path, 'must be a JSON object');
  check(d.format === 'trellis-mlff-dataset/v1', path, 'format must be trellis-mlff-dataset/v1');
  check(
    Array.isArray(d.atomicNumbers) && d.atomicNumbers.length >= 2 && d.atomicNumbers.every((z) => Number.isInteger(z)),
    path,
    'atomicNumbers must list at least 2 integers',
  );
  const atoms = d.atomicNumbers.length;
  check(typeof d.levels === 'object' && d.levels !== null, path, 'levels missing');
  checkLevel(d.levels.cheap, 'cheap', atoms, path);
  checkLevel(d.levels.accurate, 'accurate', atoms, path);
  cache.set(path, { mtimeMs, data: d });
  return d;
}

export interface ChemSplitSizes {
  frames: number;
  valFrames: number;
  testFrames: number;
}

/** Frames of one level, picked by index (no bias known: the cheap set has no accurate labels). */
function pick(d: ChemDataset, level: 'cheap' | 'accurate', idx: number[]): Frames {
  const l = d.levels[level];
  return {
    n: idx.length,
    atoms: d.atomicNumbers.length,
    potential: level,
    temperature: d.sampling.temperature,
    positions: idx.map((i) => l.positions[i]!),
    energies: idx.map((i) => l.energies[i]!),
    forces: idx.map((i) => l.forces[i]!),
    acceptance: NaN,
    species: d.atomicNumbers,
  };
}

/** The seed's permutation of a level's frame indices. */
function permutation(d: ChemDataset, level: 'cheap' | 'accurate', dataSeed: number): number[] {
  const n = d.levels[level].energies.length;
  return new Rng(mixSeed(dataSeed, level === 'cheap' ? 21 : 22)).shuffle(Array.from({ length: n }, (_, i) => i));
}

/** Training frames: the first `n` of the cheap permutation, or the accurate frames after test and validation. */
export function chemTrainFrames(
  d: ChemDataset,
  data: 'accurate' | 'cheap',
  dataSeed: number,
  n: number,
  held: { valFrames: number; testFrames: number },
): Frames {
  const perm = permutation(d, data, dataSeed);
  const start = data === 'accurate' ? held.testFrames + held.valFrames : 0;
  if (start + n > perm.length) {
    throw new Error(
      `the ${d.molecule} data set has ${perm.length} ${data} frames; ${n} training frames${data === 'accurate' ? ` after ${held.testFrames} test and ${held.valFrames} validation frames` : ''} need ${start + n}`,
    );
  }
  return pick(d, data, perm.slice(start, start + n));
}

/** Accurate test frames (the first `testFrames` of the permutation) or validation frames (the next `valFrames`). */
export function chemHeldOutFrames(
  d: ChemDataset,
  which: 'val' | 'test',
  dataSeed: number,
  held: { valFrames: number; testFrames: number },
): Frames {
  const perm = permutation(d, 'accurate', dataSeed);
  if (held.testFrames + held.valFrames > perm.length) {
    throw new Error(
      `the ${d.molecule} data set has ${perm.length} accurate frames, fewer than ${held.testFrames} test + ${held.valFrames} validation`,
    );
  }
  const idx =
    which === 'test' ? perm.slice(0, held.testFrames) : perm.slice(held.testFrames, held.testFrames + held.valFrames);
  return pick(d, 'accurate', idx);
}
