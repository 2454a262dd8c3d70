/** Standard normal functions for the Parzen estimators (no dependency offers accurate tails). */

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
export { LOG_SQRT_2PI };

/**
 * Complementary error function, Numerical Recipes' Chebyshev fit (erfcc): fractional error
 * below 1.2e-7 everywhere, including the far tails, which a difference of CDFs needs.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const ans =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? ans : 2 - ans;
}

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** P(lo < Z < hi) for a standard normal, computed on the side that keeps precision. */
export function normalMass(lo: number, hi: number): number {
  if (lo >= 0) return 0.5 * (erfc(lo / Math.SQRT2) - erfc(hi / Math.SQRT2));
  if (hi <= 0) return 0.5 * (erfc(-hi / Math.SQRT2) - erfc(-lo / Math.SQRT2));
  return 1 - upperTail(hi) - upperTail(-lo);
}

/** P(Z > z) for z >= 0; 0 beyond 9 (below 1.2e-19, invisible next to 1). */
function upperTail(z: number): number {
  return z > 9 ? 0 : 0.5 * erfc(z / Math.SQRT2);
}

/** log P(lo < Z < hi), falling back to the midpoint density for narrow or far-tail intervals. */
export function logNormalMass(lo: number, hi: number): number {
  const width = hi - lo;
  if (width < 1e-2) {
    const mid = 0.5 * (lo + hi);
    return -0.5 * mid * mid - LOG_SQRT_2PI + Math.log(width);
  }
  const mass = normalMass(lo, hi);
  if (mass > 1e-280) return Math.log(mass);
  // Far tail: the mass is dominated by the endpoint nearer the centre.
  const near = lo >= 0 ? lo : -hi;
  return -0.5 * near * near - LOG_SQRT_2PI - Math.log(near);
}

const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const [a0, a1, a2, a3, a4, a5] = A as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = B as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = C as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = D as [number, number, number, number];
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - P_LOW) {
    const q = Math.sqrt(-2 * Math.log1p(-p));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}
