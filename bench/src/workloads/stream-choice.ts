/** Which stream a writer appends to next: uniform ("flat") or Zipf-distributed, from a seeded PRNG. */

export type Distribution = 'flat' | 'zipf';

/** mulberry32: small, fast, good enough to pick streams; seeded so that runs are repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Returns a sampler of stream indexes 0..n-1. Zipf: index k (rank k+1) has probability
 * proportional to 1/(k+1)^s, so index 0 is the hottest stream.
 */
export function streamChooser(distribution: Distribution, n: number, random: () => number, s = 0.99): () => number {
  if (distribution === 'flat') return () => Math.floor(random() * n);
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, s);
    cumulative[k] = total;
  }
  return () => {
    const u = random() * total;
    // First index whose cumulative weight exceeds u.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Share of picks that land on the hottest stream, for the record. */
export function hottestShare(distribution: Distribution, n: number, s = 0.99): number {
  if (distribution === 'flat') return 1 / n;
  let total = 0;
  for (let k = 0; k < n; k++) total += 1 / Math.pow(k + 1, s);
  return 1 / total;
}
