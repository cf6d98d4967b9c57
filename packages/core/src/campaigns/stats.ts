/**
 * The statistics of experiments and reports, pure: the standard normal distribution, the Wilson score
 * interval of a proportion, the two-proportion z-test, and the confidence interval of a difference of
 * proportions (lift).
 */

/** Φ(x), the standard normal cumulative distribution. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** 1 − Φ(x), computed directly so that a far tail keeps its digits (1 − Φ(9) is 1.1e-19, not 0). */
export function normalTail(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' Chebyshev fit of erfc: fractional error below 1.2e-7 everywhere, far finer than
  // any decision made with it needs.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
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
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Φ⁻¹(p), the standard normal quantile (P. J. Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile of ${p}: p must be in (0, 1)`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

export interface Interval {
  value: number;
  low: number;
  high: number;
}

/** The two-sided z for a confidence level (0.95 → 1.95996…). */
export const zFor = (confidence: number) => normalQuantile(1 - (1 - confidence) / 2);

/** The Wilson score interval of `successes` out of `trials` (value 0, interval [0, 0] when there are none). */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): Interval {
  if (trials <= 0) return { value: 0, low: 0, high: 0 };
  const z = zFor(confidence);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials))) / (1 + z2n);
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface ZTest {
  /** a's rate minus b's. */
  difference: number;
  z: number;
  /** Two-sided. */
  pValue: number;
  significant: boolean;
}

/**
 * The pooled two-proportion z-test of a = x1/n1 against b = x2/n2 at `confidence` (two-sided). With no
 * trials on a side, or no variation at all, z is 0 and nothing is significant.
 */
export function twoProportionZTest(x1: number, n1: number, x2: number, n2: number, confidence = 0.95): ZTest {
  if (n1 <= 0 || n2 <= 0) return { difference: 0, z: 0, pValue: 1, significant: false };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { difference: p1 - p2, z: 0, pValue: 1, significant: false };
  const z = (p1 - p2) / se;
  const pValue = Math.min(1, 2 * normalTail(Math.abs(z)));
  return { difference: p1 - p2, z, pValue, significant: pValue < 1 - confidence };
}

/** The difference a − b of two proportions with its (unpooled, Wald) confidence interval. */
export function differenceInterval(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  confidence = 0.95,
): Interval {
  if (n1 <= 0 || n2 <= 0) return { value: 0, low: 0, high: 0 };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const half = zFor(confidence) * Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return { value: p1 - p2, low: p1 - p2 - half, high: p1 - p2 + half };
}
