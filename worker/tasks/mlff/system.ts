/**
 * Toy molecular system for the ASTEROID stages (see shared/research/ALGORITHMS.md §1).
 *
 * - "accurate" potential: a Morse pair potential over a small cluster (default 6 atoms), energies
 *   in kcal/mol, distances in Å, forces in kcal/(mol·Å).
 * - "cheap" potential: accurate + a smooth systematic bias on the cluster's radius of gyration,
 *   `b(R) = κ·(Rg(R) − r0)²`, whose force error `|∂b/∂R|` is proportional to `|Rg − r0|` and so
 *   varies from frame to frame (near zero for frames with Rg ≈ r0, large for breathing extremes).
 * - Frames come from a seeded Metropolis Monte Carlo chain at temperature T (Kelvin, with
 *   k_B = 0.001987204259 kcal/(mol·K)); single-atom moves, step size tuned during burn-in only,
 *   a frame every `thin` sweeps. The chain is deterministic given (seed, potential, temperature,
 *   atoms), and the first n frames of a longer run equal an n-frame run, so every pipeline stage
 *   regenerates exactly the frames it needs instead of shipping them.
 * - A hard wall (moves taking an atom farther than `wallRadius` from the centre of mass are
 *   rejected) keeps the cluster from evaporating; it adds nothing to energies or forces inside.
 *
 * Everything here is plain JS in float64; the MLFF model converts to tensors itself.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { fmix32 } from '../../../shared/hash.js';

/** Boltzmann constant in kcal/(mol·K) (the value the ASTEROID code uses). */
export const K_B = 0.001987204259;

export type PotentialKind = 'accurate' | 'cheap';

export interface SystemParams {
  /** Morse well depth D (kcal/mol). */
  morseD: number;
  /** Morse width parameter a (1/Å). */
  morseA: number;
  /** Morse equilibrium distance r_e (Å). */
  morseRe: number;
  /** Bias stiffness κ (kcal/(mol·Å²)). */
  biasKappa: number;
  /** Bias reference radius of gyration r0 (Å). */
  biasR0: number;
  /** Hard-wall radius around the centre of mass (Å). */
  wallRadius: number;
}

/**
 * Default parameters. r0 is close to the mean Rg of the accurate ensemble at 500 K, so the
 * injected bias is small for typical frames and large for the stretched / compressed ones.
 */
export const DEFAULT_SYSTEM: SystemParams = {
  morseD: 4,
  morseA: 1.6,
  morseRe: 1.5,
  biasKappa: 60,
  biasR0: 1.08,
  wallRadius: 3.5,
};

export interface EnergyForces {
  energy: number;
  /** Flat [atoms·3]. */
  forces: Float64Array;
}

/** Morse pair potential: energy and analytic forces (F = −∂E/∂R). `pos` is flat [atoms·3]. */
export function morse(pos: ArrayLike<number>, params: SystemParams = DEFAULT_SYSTEM): EnergyForces {
  const n = pos.length / 3;
  const forces = new Float64Array(pos.length);
  let energy = 0;
  const { morseD: D, morseA: a, morseRe: re } = params;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = pos[3 * i]! - pos[3 * j]!;
      const dy = pos[3 * i + 1]! - pos[3 * j + 1]!;
      const dz = pos[3 * i + 2]! - pos[3 * j + 2]!;
      const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
      const x = Math.exp(-a * (r - re));
      energy += D * ((1 - x) * (1 - x) - 1);
      const dVdr = 2 * D * a * x * (1 - x);
      const s = -dVdr / r; // force on i along (r_i − r_j)
      forces[3 * i] = forces[3 * i]! + s * dx;
      forces[3 * i + 1] = forces[3 * i + 1]! + s * dy;
      forces[3 * i + 2] = forces[3 * i + 2]! + s * dz;
      forces[3 * j] = forces[3 * j]! - s * dx;
      forces[3 * j + 1] = forces[3 * j + 1]! - s * dy;
      forces[3 * j + 2] = forces[3 * j + 2]! - s * dz;
    }
  }
  return { energy, forces };
}

/** Radius of gyration (equal masses). */
export function radiusOfGyration(pos: ArrayLike<number>): number {
  const n = pos.length / 3;
  const com = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) com[d]! += pos[3 * i + d]! / n;
  let s = 0;
  for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) s += (pos[3 * i + d]! - com[d]!) ** 2;
  return Math.sqrt(s / n);
}

/**
 * The injected bias `b(R) = κ·(Rg − r0)²` and its forces
 * `F_a = −2κ(Rg − r0)·(r_a − com)/(N·Rg)` (∂Rg/∂r_a = (r_a − com)/(N·Rg)).
 */
export function bias(pos: ArrayLike<number>, params: SystemParams = DEFAULT_SYSTEM): EnergyForces {
  const n = pos.length / 3;
  const com = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) com[d]! += pos[3 * i + d]! / n;
  let s = 0;
  for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) s += (pos[3 * i + d]! - com[d]!) ** 2;
  const rg = Math.sqrt(s / n);
  const dev = rg - params.biasR0;
  const forces = new Float64Array(pos.length);
  const coef = rg > 0 ? (-2 * params.biasKappa * dev) / (n * rg) : 0;
  for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) forces[3 * i + d] = coef * (pos[3 * i + d]! - com[d]!);
  return { energy: params.biasKappa * dev * dev, forces };
}

/** Energy and forces of the chosen potential. */
export function potential(
  kind: PotentialKind,
  pos: ArrayLike<number>,
  params: SystemParams = DEFAULT_SYSTEM,
): EnergyForces {
  const acc = morse(pos, params);
  if (kind === 'accurate') return acc;
  const b = bias(pos, params);
  const forces = new Float64Array(acc.forces.length);
  for (let k = 0; k < forces.length; k++) forces[k] = acc.forces[k]! + b.forces[k]!;
  return { energy: acc.energy + b.energy, forces };
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness (shared by the MC chain, the model init and the score-matching vectors).

/** Mixes integers into one 32-bit seed (murmur3-style finaliser), so stages can derive streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9 | 0;
  for (const p of parts) {
    let k = Math.imul((p | 0) ^ Math.floor(p / 4294967296), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h);
}

/** A small seeded random source: uniform [0,1), standard normal, integers, shuffles. */
export class Rng {
  private readonly gen;
  private spare: number | undefined;
  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
  }
  uniform(): number {
    return uniformFloat64(this.gen);
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

// ---------------------------------------------------------------------------------------------
// Frames.

export interface GenerateOptions {
  n: number;
  /** Kelvin; default 500. */
  temperature?: number;
  seed: number;
  potential: PotentialKind;
  /** Atoms in the cluster; default 6. */
  atoms?: number;
  params?: SystemParams;
  /** Sweeps (one attempted move per atom) discarded before the first frame; default 300. */
  burnIn?: number;
  /** Sweeps between frames; default 10. */
  thin?: number;
}

export interface Frames {
  n: number;
  atoms: number;
  potential: PotentialKind;
  temperature: number;
  /** [n][atoms][3] (Å). */
  positions: number[][][];
  /** [n] (kcal/mol) of the potential the frames were labelled with. */
  energies: number[];
  /** [n][atoms][3] (kcal/(mol·Å)). */
  forces: number[][][];
  /** Cheap frames only: the true force error mean_{a,d}|F_cheap − F_accurate| per frame. */
  biasMagnitude?: number[];
  /** Cheap frames only: the injected energy bias E_cheap − E_accurate per frame. */
  biasEnergy?: number[];
  /** MC acceptance rate after burn-in (diagnostic; NaN for frames read from a data set). */
  acceptance: number;
  /** Atomic numbers per atom (molecular data sets); absent for the one-element toy. */
  species?: number[];
}

/** Near-spherical starting geometry with nearest-neighbour distances ≈ r_e (Fibonacci sphere). */
function initialPositions(atoms: number, params: SystemParams): Float64Array {
  const pos = new Float64Array(atoms * 3);
  if (atoms === 1) return pos;
  // Radius so that the typical neighbour spacing on the sphere is about r_e.
  const radius = Math.max(params.morseRe / 2, params.morseRe * Math.sqrt(atoms / (4 * Math.PI)) * 1.05);
  const golden = Math.PI * (3 - Math.sqrt(5));
  for (let i = 0; i < atoms; i++) {
    const y = 1 - (2 * (i + 0.5)) / atoms;
    const rr = Math.sqrt(1 - y * y);
    const phi = i * golden;
    pos[3 * i] = radius * rr * Math.cos(phi);
    pos[3 * i + 1] = radius * y;
    pos[3 * i + 2] = radius * rr * Math.sin(phi);
  }
  return pos;
}

function toNested(flat: ArrayLike<number>, atoms: number): number[][] {
  const out: number[][] = [];
  for (let a = 0; a < atoms; a++) out.push([flat[3 * a]!, flat[3 * a + 1]!, flat[3 * a + 2]!]);
  return out;
}

function withinWall(pos: Float64Array, atoms: number, wall: number): boolean {
  const com = [0, 0, 0];
  for (let i = 0; i < atoms; i++) for (let d = 0; d < 3; d++) com[d]! += pos[3 * i + d]! / atoms;
  for (let i = 0; i < atoms; i++) {
    let s = 0;
    for (let d = 0; d < 3; d++) s += (pos[3 * i + d]! - com[d]!) ** 2;
    if (s > wall * wall) return false;
  }
  return true;
}

/**
 * Seeded Metropolis MC frames of the accurate or the cheap potential (sampled from, and labelled
 * with, that potential). Cheap frames also carry the true per-frame bias.
 */
export function generateFrames(opts: GenerateOptions): Frames {
  const atoms = opts.atoms ?? 6;
  const temperature = opts.temperature ?? 500;
  const params = opts.params ?? DEFAULT_SYSTEM;
  const burnIn = opts.burnIn ?? 300;
  const thin = opts.thin ?? 10;
  if (!Number.isInteger(opts.n) || opts.n < 0) throw new Error(`generateFrames: n must be a non-negative integer`);
  if (!Number.isInteger(atoms) || atoms < 2) throw new Error('generateFrames: atoms must be an integer >= 2');
  if (!(temperature > 0)) throw new Error('generateFrames: temperature must be > 0');
  const kT = K_B * temperature;
  const rng = new Rng(mixSeed(opts.seed, opts.potential === 'accurate' ? 1 : 2, atoms));
  const pos = initialPositions(atoms, params);
  const energyOf = (p: Float64Array): number =>
    opts.potential === 'accurate' ? morse(p, params).energy : morse(p, params).energy + bias(p, params).energy;
  let energy = energyOf(pos);
  let step = 0.15;
  let accepted = 0;
  let attempted = 0;
  const trial = new Float64Array(pos.length);

  const sweep = (tune: boolean): void => {
    let acc = 0;
    for (let m = 0; m < atoms; m++) {
      const i = rng.int(atoms);
      trial.set(pos);
      for (let d = 0; d < 3; d++) trial[3 * i + d] = pos[3 * i + d]! + step * (2 * rng.uniform() - 1);
      const u = rng.uniform();
      if (!withinWall(trial, atoms, params.wallRadius)) continue;
      const e = energyOf(trial);
      if (e <= energy || u < Math.exp(-(e - energy) / kT)) {
        pos.set(trial);
        energy = e;
        acc++;
      }
    }
    if (tune) {
      // Aim at ~40% acceptance during burn-in only (the sampled chain keeps a fixed step).
      const rate = acc / atoms;
      step *= rate > 0.4 ? 1.05 : 0.95;
      step = Math.min(Math.max(step, 0.01), 1);
    } else {
      accepted += acc;
      attempted += atoms;
    }
  };

  for (let s = 0; s < burnIn; s++) sweep(true);
  const frames: Frames = {
    n: opts.n,
    atoms,
    potential: opts.potential,
    temperature,
    positions: [],
    energies: [],
    forces: [],
    acceptance: 0,
  };
  if (opts.potential === 'cheap') {
    frames.biasMagnitude = [];
    frames.biasEnergy = [];
  }
  for (let f = 0; f < opts.n; f++) {
    for (let s = 0; s < thin; s++) sweep(false);
    const acc = morse(pos, params);
    frames.positions.push(toNested(pos, atoms));
    if (opts.potential === 'accurate') {
      frames.energies.push(acc.energy);
      frames.forces.push(toNested(acc.forces, atoms));
    } else {
      const b = bias(pos, params);
      const forces = new Float64Array(pos.length);
      let mag = 0;
      for (let k = 0; k < forces.length; k++) {
        forces[k] = acc.forces[k]! + b.forces[k]!;
        mag += Math.abs(b.forces[k]!);
      }
      frames.energies.push(acc.energy + b.energy);
      frames.forces.push(toNested(forces, atoms));
      frames.biasMagnitude!.push(mag / forces.length);
      frames.biasEnergy!.push(b.energy);
    }
  }
  frames.acceptance = attempted > 0 ? accepted / attempted : 0;
  return frames;
}

/** Flattens [n][atoms][3] into a Float32Array (row-major), for tensors. */
export function flatten3(x: number[][][]): Float32Array {
  const n = x.length;
  const atoms = x[0]?.length ?? 0;
  const out = new Float32Array(n * atoms * 3);
  let k = 0;
  for (const frame of x) for (const atom of frame) for (const v of atom) out[k++] = v;
  return out;
}
