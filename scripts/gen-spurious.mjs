/**
 * Writes datasets/spurious/{train,test}.csv: a small synthetic grouped classification data set
 * with a spurious attribute, in the style of Waterbirds (Sagawa et al. 2020), for the fairness
 * losses and the two-objective (accuracy vs group gap) sweep. Deterministic (mulberry32, seed
 * fixed below); rerunning reproduces the shipped files byte for byte.
 *
 *   node scripts/gen-spurious.mjs
 *
 * Per row: label y ∈ {0, 1} with probability ½; attribute a = y with probability 0.9, else
 * 1 − y (the same in both files); core features c1..c4 = ±0.5 (by y) + N(0, 1) (alone they give
 * about 84% accuracy in every group); one spurious feature s = ±1 (by a) + N(0, 0.3) (alone: 90%
 * on average, 0% on the minority groups); three noise features N(0, 1). The group is (y, a):
 * y0_a0 and y1_a1 (45% each), y0_a1 and y1_a0 (5% each). A model that leans on s has the higher
 * average accuracy and the larger gap between groups; one that ignores it is fairer and less
 * accurate on average: a real trade-off for a Pareto front.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SEED = 20240716;
const ROWS = { train: 3000, test: 1500 };

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(SEED);
function normal() {
  // Box–Muller; 1 − u keeps the logarithm finite.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const header = ['c1', 'c2', 'c3', 'c4', 's', 'n1', 'n2', 'n3', 'group', 'label'];
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'datasets', 'spurious');
mkdirSync(dir, { recursive: true });
for (const [file, rows] of Object.entries(ROWS)) {
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i++) {
    const y = random() < 0.5 ? 0 : 1;
    const a = random() < 0.9 ? y : 1 - y;
    const core = Array.from({ length: 4 }, () => (y ? 0.5 : -0.5) + normal());
    const s = (a ? 1 : -1) + 0.3 * normal();
    const noise = Array.from({ length: 3 }, () => normal());
    const values = [...core, s, ...noise].map((x) => x.toFixed(3));
    lines.push([...values, `y${y}_a${a}`, String(y)].join(','));
  }
  writeFileSync(join(dir, `${file}.csv`), lines.join('\n') + '\n');
}
