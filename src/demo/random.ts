/**
 * A small seeded PRNG for the demo data: the same seed gives the same month of transactions on every
 * machine and every Node version, so a demo value can be recomputed from the seed (the demo's tests do
 * exactly that). Math.random cannot be seeded.
 */

/** Draws in [0, 1). mulberry32: 32-bit state, integer operations only, so every engine agrees. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller; one of the pair is dropped, which keeps the stream simple). */
export function normal(random: Random): number {
  // 1 - u is in (0, 1], so the logarithm is finite.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** exp(N(ln median, sigma)): positive, right-skewed, like amounts and activity levels. */
export function logNormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(random));
}

/** An exponential draw with the given mean. */
export function exponential(random: Random, mean: number): number {
  return -mean * Math.log(1 - random());
}

/**
 * Picks indexes in proportion to `weights`: the cumulative sums are built once, each draw is a binary
 * search, so drawing tens of thousands of times from hundreds of weights stays cheap.
 */
export function weightedPicker(weights: readonly number[]): (random: Random) => number {
  const cumulative: number[] = [];
  let total = 0;
  for (const w of weights) cumulative.push((total += w));
  if (!(total > 0)) throw new Error('weightedPicker: the weights must have a positive sum');
  return (random) => {
    const target = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}
