/**
 * COUNT, SUM, AVG, VARIANCE and STDDEV: one partial of power sums (n, Σx, Σx²), each kept exactly
 * (exact.ts), so merging is exact and the finalised double is the correctly rounded value of the exact
 * statistic, whatever the order and grouping of the events.
 *
 * - COUNT counts non-null inputs (every event when the feature has no `of`). 0 for no events.
 * - SUM is the correctly rounded exact sum. 0 for no events (the empty sum; the example schema declares
 *   sums `Float!`).
 * - AVG = Σx / n, correctly rounded from the exact quotient. null for no events.
 * - VARIANCE is the population variance (divide by n, not n − 1), as Chronon's Variance aggregator and
 *   docs/schema.md: (n·Σx² − (Σx)²) / n², computed exactly (no cancellation error, never negative) and
 *   rounded once. 0 for one event, null for none.
 * - STDDEV = √VARIANCE, correctly rounded from the exact variance (not the square root of a rounded one).
 *
 * Encodings: COUNT `n`; SUM and AVG `[n, Σx]`; VARIANCE and STDDEV `[n, Σx, Σx²]`, the sums in the exact
 * text form of exact.ts (`"7dp3"`). A result beyond the double range (sums near 1.8e308) is ±Infinity here
 * and null once the feature's type is applied (finalize.ts).
 */
import type { AggregateFunction } from '../../registry/types.ts';
import type { Aggregator, Json } from './aggregator.ts';
import { PartialDecodeError, isMissing } from './aggregator.ts';
import type { Exact } from './exact.ts';
import { addDouble, addExact, addSquare, decodeExact, encodeExact, exactToDouble, exactZero, roundQuotient, roundSqrtQuotient } from './exact.ts';

export interface Moments {
  /** Number of non-null inputs. */
  n: number;
  /** Σx, exactly (zero for COUNT). */
  readonly s: Exact;
  /** Σx², exactly (zero unless VARIANCE or STDDEV). */
  readonly q: Exact;
}

/** How many power sums a function needs beyond the count. */
type Order = 0 | 1 | 2;

function momentsAggregator(fn: AggregateFunction, order: Order, result: (m: Moments) => unknown): Aggregator<Moments> {
  return {
    fn,
    empty: () => ({ n: 0, s: exactZero(), q: exactZero() }),
    add(into, value) {
      if (isMissing(value)) return into;
      if (order > 0) {
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${fn} needs finite numbers, got ${String(value)}`);
        addDouble(into.s, value);
        if (order === 2) addSquare(into.q, value);
      }
      into.n += 1;
      return into;
    },
    mergeInto(into, from) {
      into.n += from.n;
      addExact(into.s, from.s);
      addExact(into.q, from.q);
      return into;
    },
    result,
    encode(m): Json {
      if (order === 0) return m.n;
      if (order === 1) return [m.n, encodeExact(m.s)];
      return [m.n, encodeExact(m.s), encodeExact(m.q)];
    },
    // encodeExact's text is [-0-9a-fp]: nothing in it for JSON to escape.
    encodeText(m): string {
      if (order === 0) return String(m.n);
      if (order === 1) return `[${m.n},"${encodeExact(m.s)}"]`;
      return `[${m.n},"${encodeExact(m.s)}","${encodeExact(m.q)}"]`;
    },
    decode(json) {
      const parts = order === 0 ? [json] : json;
      const n = Array.isArray(parts) && parts.length === order + 1 ? parts[0] : undefined;
      const s = order >= 1 ? decodeExact((parts as unknown[])[1]) : exactZero();
      const q = order === 2 ? decodeExact((parts as unknown[])[2]) : exactZero();
      if (!Number.isSafeInteger(n) || (n as number) < 0 || s === undefined || q === undefined) throw new PartialDecodeError(fn, json);
      if (n === 0 && (s.m !== 0n || q.m !== 0n)) throw new PartialDecodeError(fn, json);
      return { n: n as number, s, q };
    },
  };
}

function mean(m: Moments): number | null {
  return m.n === 0 ? null : roundQuotient(m.s.m, BigInt(m.n), m.s.e);
}

/** Population variance as an exact fraction: numerator × 2^exp / n². */
function varianceParts(m: Moments): { num: bigint; den: bigint; exp: number } {
  const n = BigInt(m.n);
  const { s, q } = m;
  if (q.m === 0n) return { num: 0n, den: 1n, exp: 0 }; // every input was zero
  const exp = Math.min(q.e, 2 * s.e);
  const nq = (n * q.m) << BigInt(q.e - exp);
  const ss = (s.m * s.m) << BigInt(2 * s.e - exp);
  return { num: nq - ss, den: n * n, exp };
}

export const COUNT = momentsAggregator('COUNT', 0, (m) => m.n);
export const SUM = momentsAggregator('SUM', 1, (m) => exactToDouble(m.s));
export const AVG = momentsAggregator('AVG', 1, mean);
export const VARIANCE = momentsAggregator('VARIANCE', 2, (m) => {
  if (m.n === 0) return null;
  const v = varianceParts(m);
  return roundQuotient(v.num, v.den, v.exp);
});
export const STDDEV = momentsAggregator('STDDEV', 2, (m) => {
  if (m.n === 0) return null;
  const v = varianceParts(m);
  return roundSqrtQuotient(v.num, v.den, v.exp);
});
