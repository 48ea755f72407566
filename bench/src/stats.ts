/** Percentiles and run-to-run spread. Pure functions, no timing of their own. */

/** Sorts a copy ascending (numeric). */
export function sorted(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * Nearest-rank percentile (p in 0..100) of values already sorted ascending: the smallest
 * value such that at least p% of the values are <= it. NaN for no values.
 */
export function percentileOfSorted(ascending: ArrayLike<number>, p: number): number {
  const n = ascending.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return ascending[rank - 1]!;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarizeLatencies(values: ArrayLike<number>): LatencySummary {
  const s = sorted(values);
  let sum = 0;
  for (const v of s) sum += v;
  return {
    count: s.length,
    p50: percentileOfSorted(s, 50),
    p99: percentileOfSorted(s, 99),
    max: s.length ? s[s.length - 1]! : Number.NaN,
    mean: s.length ? sum / s.length : Number.NaN,
  };
}

/** Median (mean of the two middle values for an even count), min and max. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const s = sorted(values.filter((v) => Number.isFinite(v)));
  const n = s.length;
  if (n === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[n - 1]! };
}
