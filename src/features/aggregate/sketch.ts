/**
 * A fixed-bucket quantile sketch for APPROX_PERCENTILE, after DDSketch (Masson, Rim & Lee, VLDB 2019).
 *
 * Values fall into buckets whose upper bound is at most e^(1/50) ≈ 1.0202 times their lower bound, and a
 * bucket answers with the harmonic mean of its bounds, so any value is answered within a relative error of
 * tanh(1/100) < 1% (SKETCH_RELATIVE_ACCURACY). The buckets are fixed (the same for every partial), so
 * merging is adding counts per bucket: exact, commutative and associative.
 *
 * Bucket index: DDSketch's "linearly interpolated" mapping, 50 buckets per power of two over
 * log2(x) ≈ exponent + (significand − 1), computed from the double's bits with integer arithmetic. This
 * needs more buckets than an exact logarithm (up to 1.44× as many) but, unlike Math.log, gives the same
 * bucket on every engine and version, which stored tiles require. Negative values use a mirror set of
 * buckets; zero and subnormal magnitudes (below 2.2e-308) count in a zero bucket that answers 0.
 *
 * Quantile q of n values: the bucket holding the value of 0-based rank ⌊q·(n − 1)⌋ in ascending order
 * (DDSketch's rule), so the answer is within 1% of that exact order statistic.
 *
 * Size: one (index, count) pair per occupied bucket; amounts from 0.01 to 10⁶ span at most ~1,330 buckets.
 * Encoding: `[negatives, zeros, positives]`, each side a flat ascending `[index, count, index, count, …]`.
 */
import { doubleParts, pow2 } from './float-bits.ts';

export const SKETCH_RELATIVE_ACCURACY = 0.01;

const PER_OCTAVE = 50;
const MIN_NORMAL = 2.2250738585072014e-308;
const TWO_20 = 0x100000;
const TWO_32 = 0x100000000;
const TWO_52 = 0x10000000000000;
/** Bucket indices of normal doubles lie in [MIN_INDEX, MAX_INDEX]. */
const MIN_INDEX = -1022 * PER_OCTAVE;
const MAX_INDEX = 1024 * PER_OCTAVE;

export interface Sketch {
  /** Counts by bucket index of |x| for x < 0. */
  readonly neg: Map<number, number>;
  zero: number;
  readonly pos: Map<number, number>;
}

export function sketchEmpty(): Sketch {
  return { neg: new Map(), zero: 0, pos: new Map() };
}

/**
 * Bucket of a positive normal double: ⌈50 · (e + f / 2^52)⌉ for x = (1 + f/2^52) · 2^e, computed exactly
 * (50 f < 2^58 does not fit a double's 53 bits, so the fraction is split at 32 bits).
 */
export function bucketIndex(x: number): number {
  const p = doubleParts(x);
  const t = PER_OCTAVE * p.fracHi; // < 2^26
  const whole = Math.floor(t / TWO_20);
  const rest = (t - whole * TWO_20) * TWO_32 + PER_OCTAVE * p.fracLo; // < 2^52 + 2^38: exact
  const up = rest === 0 ? 0 : rest <= TWO_52 ? 1 : 2;
  return PER_OCTAVE * (p.biased - 1023) + whole + up;
}

/** The inverse of the interpolated log: the x with exponent + (significand − 1) = i / 50. */
function boundary(i: number): number {
  const e = Math.floor(i / PER_OCTAVE);
  return (1 + (i - PER_OCTAVE * e) / PER_OCTAVE) * pow2(e);
}

/** The value a bucket answers with: the harmonic mean of its bounds (within 1% of either, relatively). */
export function bucketValue(i: number): number {
  const lower = boundary(i - 1);
  const upper = boundary(i);
  return Math.min(2 / (1 / lower + 1 / upper), Number.MAX_VALUE);
}

export function sketchAdd(s: Sketch, x: number): void {
  const magnitude = Math.abs(x);
  if (magnitude < MIN_NORMAL) {
    s.zero += 1;
    return;
  }
  const side = x < 0 ? s.neg : s.pos;
  const i = bucketIndex(magnitude);
  side.set(i, (side.get(i) ?? 0) + 1);
}

export function sketchMergeInto(into: Sketch, from: Sketch): Sketch {
  into.zero += from.zero;
  for (const [side, other] of [
    [into.neg, from.neg],
    [into.pos, from.pos],
  ] as const) {
    for (const [i, c] of other) side.set(i, (side.get(i) ?? 0) + c);
  }
  return into;
}

function total(side: Map<number, number>): number {
  let n = 0;
  for (const c of side.values()) n += c;
  return n;
}

export function sketchCount(s: Sketch): number {
  return total(s.neg) + s.zero + total(s.pos);
}

/** The value at quantile q in [0, 1], or null for an empty sketch. */
export function sketchQuantile(s: Sketch, q: number): number | null {
  const n = sketchCount(s);
  if (n === 0) return null;
  const rank = Math.floor(q * (n - 1));
  let seen = 0;
  const neg = sortedIndices(s.neg);
  for (let k = neg.length - 1; k >= 0; k--) {
    const i = neg[k]!;
    seen += s.neg.get(i)!;
    if (seen > rank) return -bucketValue(i);
  }
  seen += s.zero;
  if (seen > rank) return 0;
  for (const i of sortedIndices(s.pos)) {
    seen += s.pos.get(i)!;
    if (seen > rank) return bucketValue(i);
  }
  throw new Error('unreachable: rank beyond the sketch count');
}

type Flat = number[];

function flatten(side: Map<number, number>): Flat {
  const out: Flat = [];
  for (const i of sortedIndices(side)) out.push(i, side.get(i)!);
  return out;
}

export function sketchEncode(s: Sketch): [Flat, number, Flat] {
  return [flatten(s.neg), s.zero, flatten(s.pos)];
}

/**
 * One side's bucket indices ascending. Indices are integers in [MIN_INDEX, MAX_INDEX], so an Int32Array
 * holds them and sorts them natively: a comparator function called from `sort` was most of the time it
 * took to encode a busy sketch (a few hundred buckets).
 */
function sortedIndices(side: Map<number, number>): Int32Array {
  const indices = new Int32Array(side.size);
  let k = 0;
  for (const i of side.keys()) indices[k++] = i;
  return indices.sort();
}

/** JSON.stringify(sketchEncode(s)): V8 stringifies an array of numbers faster than code joining them. */
export function sketchEncodeText(s: Sketch): string {
  return JSON.stringify(sketchEncode(s));
}

function unflatten(flat: unknown): Map<number, number> | undefined {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) return undefined;
  const side = new Map<number, number>();
  let last = -Infinity;
  for (let k = 0; k < flat.length; k += 2) {
    const i: unknown = flat[k];
    const c: unknown = flat[k + 1];
    if (!Number.isSafeInteger(i) || (i as number) <= last || (i as number) < MIN_INDEX || (i as number) > MAX_INDEX) return undefined;
    if (!Number.isSafeInteger(c) || (c as number) <= 0) return undefined;
    side.set(i as number, c as number);
    last = i as number;
  }
  return side;
}

/** The sketch an encoding stands for, or undefined when it is not one `sketchEncode` produces. */
export function sketchDecode(json: unknown): Sketch | undefined {
  if (!Array.isArray(json) || json.length !== 3) return undefined;
  const neg = unflatten(json[0]);
  const pos = unflatten(json[2]);
  const zero: unknown = json[1];
  if (neg === undefined || pos === undefined || !Number.isSafeInteger(zero) || (zero as number) < 0) return undefined;
  return { neg, zero: zero as number, pos };
}
