/**
 * The aggregator of each `@aggregate(fn:)`, and what an event contributes to it. The materializer and both
 * serving paths look aggregators up here, so a feature is folded, merged and finalised by one piece of code
 * wherever it is computed.
 */
import type { AggregateFunction, Aggregation } from '../../registry/types.ts';
import type { Aggregator } from './aggregator.ts';
import { APPROX_COUNT_DISTINCT, COUNT_DISTINCT, approxPercentile } from './distinct.ts';
import { AVG, COUNT, STDDEV, SUM, VARIANCE } from './moments.ts';
import { FIRST, LAST, MAX, MIN } from './ordered.ts';

const FIXED: Readonly<Record<Exclude<AggregateFunction, 'APPROX_PERCENTILE'>, Aggregator<never>>> = {
  COUNT,
  SUM,
  AVG,
  VARIANCE,
  STDDEV,
  MIN,
  MAX,
  FIRST,
  LAST,
  COUNT_DISTINCT,
  APPROX_COUNT_DISTINCT,
} as Record<Exclude<AggregateFunction, 'APPROX_PERCENTILE'>, Aggregator<never>>;

const percentiles = new Map<number, Aggregator>();

/**
 * The aggregator for an aggregation. Partials are opaque to callers: they pass them back to the same
 * aggregator (or store its `encode`) and never look inside.
 */
export function aggregatorFor(aggregation: Pick<Aggregation, 'fn' | 'percentile'>): Aggregator {
  if (aggregation.fn !== 'APPROX_PERCENTILE') return FIXED[aggregation.fn] as Aggregator;
  const q = aggregation.percentile;
  if (q === undefined) throw new RangeError('APPROX_PERCENTILE needs a percentile');
  let aggregator = percentiles.get(q);
  if (aggregator === undefined) {
    aggregator = approxPercentile(q) as Aggregator;
    percentiles.set(q, aggregator);
  }
  return aggregator;
}

/**
 * What one source event contributes: its `of` field (normalised, src/features/values.ts), or `true` for
 * COUNT without `of`, which counts every event. Aggregators skip null and undefined.
 */
export function inputValue(aggregation: Pick<Aggregation, 'of'>, row: Readonly<Record<string, unknown>>): unknown {
  return aggregation.of === undefined ? true : row[aggregation.of];
}
