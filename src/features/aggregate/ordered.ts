/**
 * MIN, MAX, FIRST and LAST: partials that keep one value, chosen by a total order so that the choice does
 * not depend on which event arrived first.
 *
 * - MIN and MAX compare numbers (Int, Float, DateTime as epoch ms). −0 is folded into 0 on the way in, so
 *   MIN(0, −0) has one answer, and JSON (which cannot spell −0) round-trips it.
 * - FIRST and LAST take the value of the earliest / latest event by event time. Events at the same
 *   millisecond are ordered by value (canonical.ts: numbers numerically, other values by canonical JSON
 *   text), so FIRST keeps the least (time, value) pair and LAST the greatest: a total order, hence
 *   order-independent. Equal values at equal times are indistinguishable, so which event "won" never shows.
 *
 * All four skip null inputs and give null for no events. Encodings: MIN/MAX the number or null;
 * FIRST/LAST `[eventTimeMs, value]` or null, the value in canonical form (object keys sorted).
 */
import type { AggregateFunction } from '../../registry/types.ts';
import type { Aggregator, Json } from './aggregator.ts';
import { PartialDecodeError, isMissing } from './aggregator.ts';
import { canonicalText, compareValues } from './canonical.ts';

export interface Extreme {
  v: number | null;
}

function extremeAggregator(fn: AggregateFunction, better: (a: number, b: number) => boolean): Aggregator<Extreme> {
  const fold = (into: Extreme, v: number | null): Extreme => {
    if (v !== null && (into.v === null || better(v, into.v))) into.v = v;
    return into;
  };
  return {
    fn,
    empty: () => ({ v: null }),
    add(into, value) {
      if (isMissing(value)) return into;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${fn} needs finite numbers, got ${String(value)}`);
      return fold(into, value === 0 ? 0 : value);
    },
    mergeInto: (into, from) => fold(into, from.v),
    result: (state) => state.v,
    encode: (state): Json => state.v,
    encodeText: (state) => JSON.stringify(state.v),
    decode(json) {
      if (json === null) return { v: null };
      if (typeof json !== 'number' || !Number.isFinite(json) || Object.is(json, -0)) throw new PartialDecodeError(fn, json);
      return { v: json };
    },
  };
}

export const MIN = extremeAggregator('MIN', (a, b) => a < b);
export const MAX = extremeAggregator('MAX', (a, b) => a > b);

interface Timed {
  readonly t: number;
  /** Canonical JSON text of the value. */
  readonly text: string;
  /** The value itself when it is a number (compared numerically), undefined otherwise. */
  readonly num: number | undefined;
}

export interface Chosen {
  best: Timed | null;
}

/** Negative when a precedes b in (event time, value) order. */
function compareTimed(a: Timed, b: Timed): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  return compareValues(a.num, a.text, b.num, b.text);
}

function timed(t: number, value: unknown): Timed {
  const text = canonicalText(value);
  return { t, text, num: typeof value === 'number' ? (value === 0 ? 0 : value) : undefined };
}

function chosenAggregator(fn: AggregateFunction, sign: 1 | -1): Aggregator<Chosen> {
  // FIRST keeps the least pair (sign 1), LAST the greatest (sign −1).
  const fold = (into: Chosen, c: Timed | null): Chosen => {
    if (c !== null && (into.best === null || sign * compareTimed(c, into.best) < 0)) into.best = c;
    return into;
  };
  return {
    fn,
    empty: () => ({ best: null }),
    add(into, value, time) {
      if (isMissing(value)) return into;
      if (!Number.isSafeInteger(time)) throw new TypeError(`${fn} needs event times in epoch ms, got ${String(time)}`);
      return fold(into, timed(time, value));
    },
    mergeInto: (into, from) => fold(into, from.best),
    result: (state) => (state.best === null ? null : JSON.parse(state.best.text)),
    encode: (state): Json => (state.best === null ? null : [state.best.t, JSON.parse(state.best.text) as Json]),
    encodeText: (state) => (state.best === null ? 'null' : `[${state.best.t},${restringified(state.best.text)}]`),
    decode(json) {
      if (json === null) return { best: null };
      if (!Array.isArray(json) || json.length !== 2 || !Number.isSafeInteger(json[0]) || isMissing(json[1])) throw new PartialDecodeError(fn, json);
      try {
        return { best: timed(json[0] as number, json[1]) };
      } catch {
        throw new PartialDecodeError(fn, json);
      }
    },
  };
}

export const FIRST = chosenAggregator('FIRST', 1);
export const LAST = chosenAggregator('LAST', -1);

/**
 * JSON.stringify(JSON.parse(text)) of a canonical text (canonical.ts): the text itself for a scalar, whose
 * canonical text is its JSON.stringify; parsed and stringified for a list or an object, where JSON.parse
 * puts integer-like keys first.
 */
function restringified(text: string): string {
  return text[0] === '{' || text[0] === '[' ? JSON.stringify(JSON.parse(text)) : text;
}
