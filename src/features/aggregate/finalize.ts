/**
 * The one finalisation: the value of an aggregation feature at T from stored pieces and raw events. The
 * online path (Redis tiles + head slices + recent raw events, T = request time) and historical retrieval
 * (Postgres tiles + archived raw events, T = the row's timestamp) both call `valueAt`, and the materializer
 * folds events with `foldEvent`, so there is no second implementation to drift. See tiles.ts for which
 * pieces make up a window.
 *
 * Typing the result (`featureValue`), by the feature's declared type:
 * - Int: the result must be an integer in the 32-bit range GraphQL's Int allows, else null. COUNT,
 *   COUNT_DISTINCT, APPROX_COUNT_DISTINCT (rounded estimate), MIN/MAX/FIRST/LAST of Int inputs always fit;
 *   SUM of Int inputs is exact, so it is its true value or, past ±2³¹ − 1, null (declare the feature
 *   Float to get such sums, exact up to 2⁵³).
 * - Float: the double as computed (an Int result such as COUNT is its exact value as a number).
 * - DateTime (MIN/MAX/FIRST/LAST of a DateTime): epoch ms, like every DateTime inside Skewless.
 * - anything else (FIRST/LAST of strings, lists, JSON): the value as it was, in canonical form.
 * A result outside the double range (±Infinity, from sums near 1.8e308) is null.
 */
import type { Aggregation, Feature } from '../../registry/types.ts';
import { windowRange } from '../windows.ts';
import { aggregatorFor, inputValue } from './aggregators.ts';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** A raw source event: its event time (epoch ms) and its normalised fields. */
export interface SourceEvent {
  readonly time: number;
  readonly row: Readonly<Record<string, unknown>>;
}

/**
 * A stored partial summarising every event with event time in [start, end): a tile, a slice of the head
 * tile, or any other complete, aligned piece.
 */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly partial: unknown;
}

/** Folds one source event into a partial of this aggregation (mutates and returns it). For the materializer. */
export function foldEvent(aggregation: Aggregation, partial: unknown, event: SourceEvent): unknown {
  return aggregatorFor(aggregation).add(partial, inputValue(aggregation, event.row), event.time);
}

/**
 * The partial of the window at T, [floor_hop(T − window), T), from pieces and raw events:
 *
 * - a span inside the window is merged; one wholly outside it is ignored (callers may pass every span they
 *   hold for the entity; old tiles simply drop out as T advances);
 * - a span straddling either edge is refused (RangeError): it cannot be split, so the caller must pass the
 *   raw events of that stretch instead (this is how a whole head tile is kept out);
 * - raw events inside the window are added, others ignored;
 * - spans that overlap each other, or raw events inside a merged span, are refused (RangeError): they
 *   would count events twice.
 *
 * Whatever split of the window the caller holds, the result is the same partial, bit for bit.
 */
export function windowPartial(aggregation: Aggregation, spans: Iterable<Span>, events: Iterable<SourceEvent>, asOf: number): unknown {
  const aggregator = aggregatorFor(aggregation);
  const { from, to } = windowRange(asOf, aggregation.windowMs, aggregation.hopMs);
  const inside: Span[] = [];
  for (const span of spans) {
    if (span.end <= from || span.start >= to) continue;
    if (span.start < from || span.end > to) {
      throw new RangeError(`span [${span.start}, ${span.end}) straddles the window [${from}, ${to}); pass its raw events instead`);
    }
    inside.push(span);
  }
  inside.sort((a, b) => a.start - b.start);
  for (let k = 1; k < inside.length; k++) {
    if (inside[k]!.start < inside[k - 1]!.end) throw new RangeError(`spans starting at ${inside[k - 1]!.start} and ${inside[k]!.start} overlap`);
  }
  const acc = aggregator.empty();
  for (const span of inside) aggregator.mergeInto(acc, span.partial);
  for (const event of events) {
    if (event.time < from || event.time >= to) continue;
    const covering = spanAt(inside, event.time);
    if (covering !== undefined) throw new RangeError(`event at ${event.time} lies in the span [${covering.start}, ${covering.end}) given too`);
    aggregator.add(acc, inputValue(aggregation, event.row), event.time);
  }
  return acc;
}

/** The span (sorted, disjoint) containing t, by binary search. */
function spanAt(sorted: readonly Span[], t: number): Span | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.end <= t) lo = mid + 1;
    else hi = mid;
  }
  const span = sorted[lo];
  return span !== undefined && span.start <= t ? span : undefined;
}

/** The value of an aggregation feature at T, typed as declared (see the header). */
export function valueAt(feature: Feature, spans: Iterable<Span>, events: Iterable<SourceEvent>, asOf: number): unknown {
  return finalize(feature, windowPartial(requireAggregation(feature), spans, events, asOf));
}

/** The typed value of a window partial (as `windowPartial` returns). */
export function finalize(feature: Feature, partial: unknown): unknown {
  return featureValue(feature, aggregatorFor(requireAggregation(feature)).result(partial));
}

/** A finalised aggregate typed as the feature declares (see the header). */
export function featureValue(feature: Pick<Feature, 'type'>, result: unknown): unknown {
  if (result === null || result === undefined) return null;
  if (typeof result === 'number') {
    if (!Number.isFinite(result)) return null;
    if (feature.type.scalar === 'Int') return Number.isInteger(result) && result >= INT32_MIN && result <= INT32_MAX ? result : null;
  }
  return result;
}

function requireAggregation(feature: Feature): Aggregation {
  if (feature.aggregation === undefined) throw new TypeError(`${feature.ref} is not an aggregation feature`);
  return feature.aggregation;
}
