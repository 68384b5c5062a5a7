/**
 * COUNT_DISTINCT, APPROX_COUNT_DISTINCT and APPROX_PERCENTILE: the partials that are sets or sketches.
 *
 * - COUNT_DISTINCT is exact: the set of canonical value texts (canonical.ts), so 0 and −0, or two JSON objects
 *   differing only in key order, are one value. Memory grows with the number of distinct values
 *   per tile; use APPROX_COUNT_DISTINCT for high-cardinality fields. Encoding: the values, sorted by
 *   canonical text.
 * - APPROX_COUNT_DISTINCT is a HyperLogLog estimate (hll.ts), rounded to the nearest integer.
 * - APPROX_PERCENTILE is a quantile sketch (sketch.ts) answered at the feature's `percentile`.
 *
 * All skip null inputs; the counts give 0 for no events, the percentile null.
 */
import type { Aggregator, Json } from './aggregator.ts';
import { PartialDecodeError, isMissing } from './aggregator.ts';
import { canonicalText } from './canonical.ts';
import type { Hll } from './hll.ts';
import { hllDecode, hllEmpty, hllEncode, hllEstimate, hllHash, hllMergeInto, hllSet } from './hll.ts';
import type { Sketch } from './sketch.ts';
import { sketchAdd, sketchDecode, sketchEmpty, sketchEncode, sketchEncodeText, sketchMergeInto, sketchQuantile } from './sketch.ts';

export interface Distinct {
  /**
   * Canonical text → the value it spells, in canonical form (JSON.parse of the text). The value is parsed
   * once, when the text first joins a partial, and carried by every merge after: encoding a row's set at
   * each commit then parses nothing.
   */
  readonly values: Map<string, Json>;
}

/** Adds a value by its canonical text, parsing the text only when it is new to the set. */
function addText(into: Distinct, text: string): void {
  if (!into.values.has(text)) into.values.set(text, JSON.parse(text) as Json);
}

/** A value's canonical form without parsing its canonical text, where it is a scalar: −0 becomes 0. */
function canonicalScalar(value: unknown): Json | undefined {
  if (typeof value === 'number') return value === 0 ? 0 : value;
  return typeof value === 'string' || typeof value === 'boolean' ? value : undefined;
}

export const COUNT_DISTINCT: Aggregator<Distinct> = {
  fn: 'COUNT_DISTINCT',
  empty: () => ({ values: new Map() }),
  add(into, value) {
    if (isMissing(value)) return into;
    const text = canonicalText(value);
    const scalar = canonicalScalar(value);
    if (scalar === undefined) addText(into, text);
    else if (!into.values.has(text)) into.values.set(text, scalar);
    return into;
  },
  mergeInto(into, from) {
    for (const [text, value] of from.values) if (!into.values.has(text)) into.values.set(text, value);
    return into;
  },
  result: (state) => state.values.size,
  encode: (state): Json => [...state.values.keys()].sort().map((text) => state.values.get(text)!),
  encodeText(state) {
    // A scalar's canonical text is its JSON.stringify (−0 is kept as 0). A list's or an object's need not
    // be: JSON.parse puts integer-like keys first, which JSON.stringify then keeps, so those are stringified.
    const texts = [...state.values.keys()].sort();
    for (let i = 0; i < texts.length; i++) {
      const value = state.values.get(texts[i]!);
      if (typeof value === 'object' && value !== null) texts[i] = JSON.stringify(value);
    }
    return `[${texts.join(',')}]`;
  },
  decode(json) {
    if (!Array.isArray(json)) throw new PartialDecodeError('COUNT_DISTINCT', json);
    const state: Distinct = { values: new Map() };
    try {
      for (const value of json) if (!isMissing(value)) addText(state, canonicalText(value));
    } catch {
      throw new PartialDecodeError('COUNT_DISTINCT', json);
    }
    if (state.values.size !== json.length) throw new PartialDecodeError('COUNT_DISTINCT', json);
    return state;
  },
};

export const APPROX_COUNT_DISTINCT: Aggregator<Hll> = {
  fn: 'APPROX_COUNT_DISTINCT',
  empty: hllEmpty,
  add(into, value) {
    if (isMissing(value)) return into;
    const { index, rank } = hllHash(canonicalText(value));
    hllSet(into, index, rank);
    return into;
  },
  mergeInto: hllMergeInto,
  result: (state) => Math.round(hllEstimate(state)),
  encode: hllEncode,
  encodeText: (state) => JSON.stringify(hllEncode(state)),
  decode(json) {
    const h = hllDecode(json);
    if (h === undefined) throw new PartialDecodeError('APPROX_COUNT_DISTINCT', json);
    return h;
  },
};

/** APPROX_PERCENTILE at quantile `percentile` (the same sketch answers any quantile). */
export function approxPercentile(percentile: number): Aggregator<Sketch> {
  if (!(percentile >= 0 && percentile <= 1)) throw new RangeError(`percentile must be in [0, 1], got ${percentile}`);
  return {
    fn: 'APPROX_PERCENTILE',
    empty: sketchEmpty,
    add(into, value) {
      if (isMissing(value)) return into;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`APPROX_PERCENTILE needs finite numbers, got ${String(value)}`);
      sketchAdd(into, value);
      return into;
    },
    mergeInto: sketchMergeInto,
    result: (state) => sketchQuantile(state, percentile),
    encode: sketchEncode,
    encodeText: sketchEncodeText,
    decode(json) {
      const s = sketchDecode(json);
      if (s === undefined) throw new PartialDecodeError('APPROX_PERCENTILE', json);
      return s;
    },
  };
}
