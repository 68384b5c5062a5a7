/**
 * COUNT_DISTINCT, APPROX_COUNT_DISTINCT and APPROX_PERCENTILE: the partials that are sets or sketches.
 *
 * - COUNT_DISTINCT is exact: the set of canonical value texts (canonical.ts), so 0 and −0, or two JSON objects
 *   differing only in key order, are one value. Memory grows with the number of distinct values
 *   per tile; use APPROX_COUNT_DISTINCT for high-cardinality fields. Encoding: the values, sorted by
 *   canonical text (UTF-16 code units, as Array.prototype.sort orders strings).
 * - APPROX_COUNT_DISTINCT is a HyperLogLog estimate (hll.ts), rounded to the nearest integer.
 * - APPROX_PERCENTILE is a quantile sketch (sketch.ts) answered at the feature's `percentile`.
 *
 * All skip null inputs; the counts give 0 for no events, the percentile null.
 */
import type { Aggregator, Json } from './aggregator.ts';
import { PartialDecodeError, isMissing } from './aggregator.ts';
import { lowerBound } from '../sorted.ts';
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
  /**
   * The same texts in sorted order, kept sorted as values join. A tile's set is encoded at every commit
   * that touches it and gains a few values between two: inserting those costs less than sorting the
   * whole set again each time.
   */
  sorted: string[];
  /** How many values are lists or objects, whose encoding is not their canonical text (encodeText). */
  objects: number;
}

const emptyDistinct = (): Distinct => ({ values: new Map(), sorted: [], objects: 0 });

/** Records a value new to the set (the caller has checked) in `values` and `objects`, not yet in `sorted`. */
function noteNew(into: Distinct, text: string, value: Json): void {
  into.values.set(text, value);
  if (typeof value === 'object' && value !== null) into.objects++;
}

/** Adds a value new to the set (the caller has checked), keeping the texts sorted. */
function insertNew(into: Distinct, text: string, value: Json): void {
  noteNew(into, text, value);
  const { sorted } = into;
  // Texts often arrive in order (a merge, a decode of what encode wrote): appending needs no search.
  if (sorted.length === 0 || sorted[sorted.length - 1]! < text) sorted.push(text);
  else sorted.splice(lowerBound(sorted, text), 0, text);
}

/** Adds a value by its canonical text, parsing the text only when it is new to the set. */
function addText(into: Distinct, text: string): void {
  if (!into.values.has(text)) insertNew(into, text, JSON.parse(text) as Json);
}

/** A value's canonical form without parsing its canonical text, where it is a scalar: −0 becomes 0. */
function canonicalScalar(value: unknown): Json | undefined {
  if (typeof value === 'number') return value === 0 ? 0 : value;
  return typeof value === 'string' || typeof value === 'boolean' ? value : undefined;
}

/** Two sorted lists of distinct texts as one sorted list (a merge's many new values, at once). */
function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! < b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** New values up to which a merge inserts them one by one; past it, it merges the sorted lists. */
const INSERTS_PER_MERGE = 8;

export const COUNT_DISTINCT: Aggregator<Distinct> = {
  fn: 'COUNT_DISTINCT',
  empty: emptyDistinct,
  add(into, value) {
    if (isMissing(value)) return into;
    const text = canonicalText(value);
    const scalar = canonicalScalar(value);
    if (scalar === undefined) addText(into, text);
    else if (!into.values.has(text)) insertNew(into, text, scalar);
    return into;
  },
  mergeInto(into, from) {
    // from's texts in order, those new to `into`: themselves sorted. Most merges into a tile bring a few
    // new values or none, and then build no list.
    let fresh: string[] | undefined;
    for (const text of from.sorted) if (!into.values.has(text)) (fresh ??= []).push(text);
    if (fresh === undefined) return into;
    if (fresh.length <= INSERTS_PER_MERGE) {
      for (const text of fresh) insertNew(into, text, from.values.get(text)!);
      return into;
    }
    for (const text of fresh) noteNew(into, text, from.values.get(text)!);
    into.sorted = mergeSorted(into.sorted, fresh);
    return into;
  },
  result: (state) => state.values.size,
  encode: (state): Json => state.sorted.map((text) => state.values.get(text)!),
  encodeText(state) {
    // A scalar's canonical text is its JSON.stringify (−0 is kept as 0). A list's or an object's need not
    // be: JSON.parse puts integer-like keys first, which JSON.stringify then keeps, so those are stringified.
    if (state.objects === 0) return `[${state.sorted.join(',')}]`;
    return `[${state.sorted
      .map((text) => {
        const value = state.values.get(text);
        return typeof value === 'object' && value !== null ? JSON.stringify(value) : text;
      })
      .join(',')}]`;
  },
  decode(json) {
    if (!Array.isArray(json)) throw new PartialDecodeError('COUNT_DISTINCT', json);
    const state = emptyDistinct();
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
