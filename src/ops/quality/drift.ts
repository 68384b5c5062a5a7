/**
 * Drift of a numeric feature against a reference: the Population Stability Index over the reference's
 * bins. Pure.
 *
 * A reference is a set of bin edges (the deciles of the values it was captured from, repeats dropped) and
 * the share of those values in each bin. Bin i holds the values v with edge[i−1] < v ≤ edge[i]; the first
 * bin is open below, the last open above, so every finite value has a bin whatever its range. The recent
 * window's values are counted into the same bins, and
 *
 *     PSI = Σ (current_i − reference_i) · ln(current_i / reference_i)
 *
 * with an empty bin's share taken as PSI_EPSILON on either side (the logarithm of 0 is not a number, and
 * one empty bin must read as a large shift, not an infinite one). Usual reading: below 0.1 stable, 0.1 to
 * 0.25 a moderate shift, above 0.25 a major one. Nulls are not binned: an export holds nulls for entities
 * with no value at T, which history rows never hold, so binning them would report drift that is not there;
 * the null rate is reported on its own instead.
 */
import { lowerBound } from '../../features/sorted.ts';
import { quantile } from './summary.ts';

/** Share used for an empty bin on either side. */
export const PSI_EPSILON = 1e-4;

/** Bins a reference aims for: deciles. Features with many repeated values get fewer. */
export const REFERENCE_BINS = 10;

/** Fewest non-null values a reference is built from: deciles of a handful of values describe nothing. */
export const MIN_REFERENCE_VALUES = 100;

export interface BinnedReference {
  /** Ascending, distinct: the upper edges of every bin but the last. */
  readonly edges: readonly number[];
  /** Share of the values in each bin (edges.length + 1 of them), summing to 1. */
  readonly proportions: readonly number[];
  /** Non-null values the shares were counted from. */
  readonly count: number;
}

export type DriftLevel = 'STABLE' | 'MODERATE' | 'MAJOR';

/**
 * The reference of sorted finite values: decile edges (linearly interpolated, as summary.ts's quantiles)
 * without repeats, and the values' shares in the bins. Undefined below `minValues` values.
 */
export function buildReference(sorted: ArrayLike<number>, bins = REFERENCE_BINS, minValues = MIN_REFERENCE_VALUES): BinnedReference | undefined {
  if (sorted.length < Math.max(1, minValues)) return undefined;
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = quantile(sorted, i / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  return { edges, proportions: shares(binCounts(sorted, edges)), count: sorted.length };
}

/** How many of the values (finite numbers; nulls and anything else are passed over) fall in each bin. */
export function binCounts(values: ArrayLike<unknown>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) counts[binOf(edges, v)]!++;
  }
  return counts;
}

/** The bin of v: the number of edges strictly below it, i.e. the first edge ≥ v (binary search). */
export function binOf(edges: readonly number[], v: number): number {
  return lowerBound(edges, v);
}

/** Counts as shares of their total; all zeros for a total of zero. */
export function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

/** PSI between a reference's shares and the current ones, bin by bin (same length). */
export function psi(reference: readonly number[], current: readonly number[], epsilon = PSI_EPSILON): number {
  if (reference.length !== current.length) throw new RangeError(`psi: ${reference.length} reference bins against ${current.length} current ones`);
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i]!, epsilon);
    const c = Math.max(current[i]!, epsilon);
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}

export interface Drift {
  /** Current shares over the reference's bins; null when the window holds no value to bin. */
  readonly current: readonly number[] | null;
  /** Values binned. */
  readonly count: number;
  readonly psi: number | null;
  readonly level: DriftLevel | null;
}

/** The window's values against a reference's bins and shares. */
export function driftAgainst(reference: Pick<BinnedReference, 'edges' | 'proportions'>, values: ArrayLike<unknown>): Drift {
  const counts = binCounts(values, reference.edges);
  const count = counts.reduce((a, b) => a + b, 0);
  if (count === 0) return { current: null, count, psi: null, level: null };
  const current = shares(counts);
  const value = psi(reference.proportions, current);
  return { current, count, psi: value, level: driftLevel(value) };
}

export function driftLevel(value: number): DriftLevel {
  return value < 0.1 ? 'STABLE' : value <= 0.25 ? 'MODERATE' : 'MAJOR';
}
