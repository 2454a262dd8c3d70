/**
 * Evaluation metrics as pure functions on plain arrays (class indices, scores, probabilities).
 * Empty inputs give NaN; callers skip metrics of empty splits.
 */

type Labels = ArrayLike<number>;

function checkLengths(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/** Fraction of predictions equal to the true class. */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  checkLengths(yTrue, yPred, 'accuracy');
  if (yTrue.length === 0) return NaN;
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  return correct / yTrue.length;
}

interface Counts {
  tp: Map<number, number>;
  fp: Map<number, number>;
  fn: Map<number, number>;
  support: Map<number, number>;
}

function countPerClass(yTrue: Labels, yPred: Labels): Counts {
  const inc = (m: Map<number, number>, k: number): void => {
    m.set(k, (m.get(k) ?? 0) + 1);
  };
  const counts: Counts = { tp: new Map(), fp: new Map(), fn: new Map(), support: new Map() };
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    inc(counts.support, t);
    if (t === p) inc(counts.tp, t);
    else {
      inc(counts.fp, p);
      inc(counts.fn, t);
    }
  }
  return counts;
}

/**
 * Unweighted mean of per-class F1 = 2TP / (2TP + FP + FN) over the classes that occur in the true
 * or the predicted labels (as scikit-learn's `f1_score(average='macro')`).
 */
export function macroF1(yTrue: Labels, yPred: Labels): number {
  checkLengths(yTrue, yPred, 'macroF1');
  if (yTrue.length === 0) return NaN;
  const { tp, fp, fn } = countPerClass(yTrue, yPred);
  const classes = new Set<number>([...Array.from(yTrue), ...Array.from(yPred)]);
  let sum = 0;
  for (const c of classes) {
    const t = tp.get(c) ?? 0;
    const denominator = 2 * t + (fp.get(c) ?? 0) + (fn.get(c) ?? 0);
    sum += denominator === 0 ? 0 : (2 * t) / denominator;
  }
  return sum / classes.size;
}

/** Mean per-class recall over the classes that occur in the true labels. */
export function balancedAccuracy(yTrue: Labels, yPred: Labels): number {
  checkLengths(yTrue, yPred, 'balancedAccuracy');
  if (yTrue.length === 0) return NaN;
  const { tp, support } = countPerClass(yTrue, yPred);
  let sum = 0;
  for (const [c, n] of support) sum += (tp.get(c) ?? 0) / n;
  return sum / support.size;
}

/**
 * Area under the ROC curve for binary labels (1 = positive) and scores, by the Mann–Whitney U
 * statistic with average ranks for ties: AUC = (R₊ − n₊(n₊+1)/2) / (n₊ n₋). NaN when one class
 * is absent.
 */
export function aucBinary(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores, 'aucBinary');
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positiveRankSum = 0;
  let positives = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (Number(labels[order[k]!]) === 1) {
        positiveRankSum += averageRank;
        positives++;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Expected calibration error with `bins` equal-width confidence bins over [0, 1] (bin m holds
 * confidences in ((m−1)/M, m/M], a confidence of 0 goes to the first bin):
 * ECE = Σ_m |B_m|/n · |acc(B_m) − conf(B_m)|.
 */
export function expectedCalibrationError(
  confidences: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  bins = 15,
): number {
  checkLengths(confidences, correct, 'expectedCalibrationError');
  const n = confidences.length;
  if (n === 0) return NaN;
  const count = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  const correctSum = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const conf = confidences[i]!;
    // Right-inclusive bins; the small tolerance keeps values on an edge (m/M in floating point) low.
    const bin = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins - 1e-9) - 1));
    count[bin]!++;
    confSum[bin]! += conf;
    correctSum[bin]! += Number(correct[i]) ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const c = count[b]!;
    if (c > 0) ece += (c / n) * Math.abs(correctSum[b]! / c - confSum[b]! / c);
  }
  return ece;
}

/** ECE from predicted class-probability rows (confidence = max probability). */
export function eceFromProbabilities(probs: ArrayLike<number>, numClasses: number, yTrue: Labels, bins = 15): number {
  const n = yTrue.length;
  const confidences = new Float64Array(n);
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (probs[i * numClasses + k]! > probs[i * numClasses + best]!) best = k;
    confidences[i] = probs[i * numClasses + best]!;
    correct[i] = best === yTrue[i] ? 1 : 0;
  }
  return expectedCalibrationError(confidences, correct, bins);
}

export interface GroupAccuracies {
  /** Accuracy per group id (keys are the group ids as strings). */
  perGroup: Record<string, number>;
  /** The lowest group accuracy. */
  worst: number;
  /** Highest minus lowest group accuracy. */
  gap: number;
}

/** Accuracy within each group, the worst group's accuracy and the best-minus-worst gap. */
export function groupAccuracies(yTrue: Labels, yPred: Labels, groups: ArrayLike<number | string>): GroupAccuracies {
  checkLengths(yTrue, yPred, 'groupAccuracies');
  checkLengths(yTrue, groups, 'groupAccuracies');
  const total = new Map<string, number>();
  const correct = new Map<string, number>();
  for (let i = 0; i < yTrue.length; i++) {
    const g = String(groups[i]);
    total.set(g, (total.get(g) ?? 0) + 1);
    if (yTrue[i] === yPred[i]) correct.set(g, (correct.get(g) ?? 0) + 1);
  }
  const perGroup: Record<string, number> = {};
  const keys = [...total.keys()].sort((a, b) => {
    const na = Number(a);
    const nb = Number(b);
    return Number.isNaN(na) || Number.isNaN(nb) ? (a < b ? -1 : a > b ? 1 : 0) : na - nb;
  });
  for (const g of keys) perGroup[g] = (correct.get(g) ?? 0) / total.get(g)!;
  const values = Object.values(perGroup);
  if (values.length === 0) return { perGroup, worst: NaN, gap: NaN };
  const worst = Math.min(...values);
  return { perGroup, worst, gap: Math.max(...values) - worst };
}

/** Index of the largest value of each row of a row-major [n, k] matrix. */
export function argmaxRows(values: ArrayLike<number>, k: number): Int32Array {
  const n = Math.floor(values.length / k);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (values[i * k + j]! > values[i * k + best]!) best = j;
    out[i] = best;
  }
  return out;
}
