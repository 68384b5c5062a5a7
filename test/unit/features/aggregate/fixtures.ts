/** Shared by the aggregation tests: features to aggregate, random values, and random splits of event sets. */
import { headSliceMs } from '../../../../src/features/aggregate/tiles.ts';
import type { AggregateFunction, Feature, ScalarType } from '../../../../src/registry/types.ts';
import { random } from '../../../helpers/random.ts';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const loc = { file: 'test.graphql', line: 1, column: 1 };

/** An aggregation feature as the registry would build it. */
export function aggFeature(
  fn: AggregateFunction,
  options: { of?: string; type?: ScalarType; windowMs?: number; hopMs?: number; sliceMs?: number; percentile?: number } = {},
): Feature {
  const windowMs = options.windowMs ?? DAY;
  const hopMs = options.hopMs ?? HOUR;
  const sliceMs = options.sliceMs ?? headSliceMs(hopMs);
  return {
    name: `f_${fn.toLowerCase()}`,
    ref: `v:f_${fn.toLowerCase()}`,
    type: { scalar: options.type ?? 'Float', list: false, nullable: true },
    description: undefined,
    deprecationReason: undefined,
    aggregation: {
      fn,
      of: fn === 'COUNT' && options.of === undefined ? undefined : (options.of ?? 'x'),
      window: `${windowMs}ms`,
      windowMs,
      hop: `${hopMs}ms`,
      hopMs,
      slice: `${sliceMs}ms`,
      sliceMs,
      percentile: fn === 'APPROX_PERCENTILE' ? (options.percentile ?? 0.9) : undefined,
    },
    loc,
  };
}

export type Rng = () => number;

export function rng(seed: number): Rng {
  return random(seed);
}

export function int(r: Rng, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function pick<T>(r: Rng, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

export function shuffled<T>(r: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Random finite doubles of very different magnitudes and signs, with exact cancellations among them. */
export function randomDouble(r: Rng): number {
  switch (int(r, 0, 7)) {
    case 0:
      return Math.round(r() * 100_000) / 100; // money
    case 1:
      return -Math.round(r() * 100_000) / 100;
    case 2:
      return int(r, -1000, 1000); // small integers
    case 3:
      return (r() - 0.5) * 10 ** int(r, -300, 300); // anything
    case 4:
      return pick(r, [1e16, -1e16, 1, -1, 0.1, 2 ** -1074, -(2 ** -1074), 1e308, -1e308]);
    case 5:
      return (r() - 0.5) * 2 ** int(r, -60, 60);
    case 6:
      return pick(r, [0, -0]);
    default:
      return r();
  }
}

/** Splits `items` into 1..maxGroups random, possibly empty, groups. */
export function randomGroups<T>(r: Rng, items: readonly T[], maxGroups: number): T[][] {
  const groups: T[][] = Array.from({ length: int(r, 1, maxGroups) }, () => []);
  for (const item of items) groups[int(r, 0, groups.length - 1)]!.push(item);
  return groups;
}

/** Reduces items pairwise in a random tree shape with `combine`. */
export function randomTree<T>(r: Rng, items: readonly T[], combine: (a: T, b: T) => T): T {
  const pool = [...items];
  while (pool.length > 1) {
    const i = int(r, 0, pool.length - 1);
    const a = pool.splice(i, 1)[0]!;
    const j = int(r, 0, pool.length - 1);
    const b = pool.splice(j, 1)[0]!;
    pool.push(r() < 0.5 ? combine(a, b) : combine(b, a));
  }
  return pool[0]!;
}
