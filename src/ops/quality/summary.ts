/**
 * Statistics of one feature's values over a window: count, nulls, null rate, and for numeric features
 * min, max, mean, standard deviation and quantiles; for plain scalars the number of distinct values. Pure:
 * values in, numbers out, so every figure is checked against golden values.
 *
 * The mean and standard deviation come from the exact power sums the AVG and STDDEV aggregations use
 * (features/aggregate/moments.ts), so they are correctly rounded and do not depend on the order the
 * store returned the rows in. Quantiles interpolate linearly between order statistics (h = (n − 1)·q, the
 * default of R, NumPy and PostgreSQL's percentile_cont), so p50 of 1…10 is 5.5.
 */
import { AVG, STDDEV } from '../../features/aggregate/moments.ts';
import type { FieldType } from '../../registry/types.ts';

/**
 * What can be said about a feature's values: numeric (Int, Float) get the numeric statistics; plain
 * scalars (String, ID, Boolean) a distinct count; the rest (DateTime, JSON, lists) count and nulls only.
 */
export type ValueKind = 'numeric' | 'categorical' | 'other';

export function valueKind(type: FieldType): ValueKind {
  if (type.list) return 'other';
  switch (type.scalar) {
    case 'Int':
    case 'Float':
      return 'numeric';
    case 'String':
    case 'ID':
    case 'Boolean':
      return 'categorical';
    default:
      return 'other';
  }
}

/** The quantiles reported for numeric features: enough for a box plot's whiskers and the usual tails. */
export const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] as const;

export interface Quantile {
  readonly q: number;
  readonly value: number;
}

export interface NumericSummary {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation (divide by n), as the STDDEV aggregation. */
  readonly stddev: number;
  readonly quantiles: readonly Quantile[];
}

export interface ValueSummary {
  /** Values looked at, nulls included. */
  readonly count: number;
  readonly nulls: number;
  /** nulls / count; null when there was nothing to look at. */
  readonly nullRate: number | null;
  /** Distinct non-null values, for categorical features; null otherwise. */
  readonly distinct: number | null;
  /**
   * For numeric features with at least one finite value; null otherwise. Non-finite numbers (which only
   * direct SQL can store) count in `count` but not here.
   */
  readonly numeric: NumericSummary | null;
}

export function summarize(values: readonly unknown[], kind: ValueKind): ValueSummary {
  let nulls = 0;
  for (const v of values) if (v == null) nulls++;
  const count = values.length;
  const nullRate = count === 0 ? null : nulls / count;
  const distinct = kind === 'categorical' ? new Set(values.filter((v) => v != null)).size : null;
  const numeric = kind === 'numeric' ? numericSummary(finiteSorted(values)) : null;
  return { count, nulls, nullRate, distinct, numeric };
}

/** The finite numbers among `values`, sorted ascending. */
export function finiteSorted(values: readonly unknown[]): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) out[n++] = v;
  // A typed array sorts numerically (and fast); a plain array would sort as text.
  return out.subarray(0, n).sort();
}

/** Statistics of sorted finite numbers; null for none. */
export function numericSummary(sorted: Float64Array): NumericSummary | null {
  if (sorted.length === 0) return null;
  let moments = STDDEV.empty();
  // The event time plays no part in power sums.
  for (const x of sorted) moments = STDDEV.add(moments, x, 0);
  return {
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean: AVG.result(moments) as number,
    stddev: STDDEV.result(moments) as number,
    quantiles: QUANTILES.map((q) => ({ q, value: quantile(sorted, q) })),
  };
}

/** The q-quantile (0 ≤ q ≤ 1) of sorted numbers, linearly interpolated; NaN for none. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  // Equal neighbours (common with integers) are returned as they are, free of rounding.
  return a === b ? a : a + (b - a) * (h - lo);
}
