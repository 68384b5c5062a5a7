/**
 * Exact sums of doubles, and correctly rounded conversions of exact quantities back to doubles.
 *
 * Why exact: floating-point addition is not associative, so a sum folded event by event in the
 * materializer, then merged from tiles in Redis, would differ in its last bits from the same events summed
 * in another order or grouping by historical retrieval. Every finite double is an integer times a power of
 * two, so a sum of doubles is exactly `m × 2^e` for a BigInt m: adding is exact, hence commutative and
 * associative, and the result does not depend on arrival order or tiling. Squares (for variance) are exact
 * the same way. Only the final answer is rounded, once, to the nearest double (ties to even): the
 * "correctly rounded" value of the exact sum, mean, variance or standard deviation.
 *
 * Cost: one BigInt shift-and-add per event. The BigInt spans the exponent range of the values summed
 * (about 60 bits for money amounts, at most about 2,100 bits whatever the inputs).
 */
import { bitLength, oddMantissa, pow2, trailingZeros } from './float-bits.ts';

/** An exact binary number m × 2^e. Not necessarily in canonical form until `canonical` is applied. */
export interface Exact {
  m: bigint;
  e: number;
}

export function exactZero(): Exact {
  return { m: 0n, e: 0 };
}

/** Adds m × 2^e into `acc` exactly (mutates `acc`). */
function addParts(acc: Exact, m: bigint, e: number): void {
  if (m === 0n) return;
  if (acc.m === 0n) {
    acc.m = m;
    acc.e = e;
  } else if (e >= acc.e) {
    acc.m += m << BigInt(e - acc.e);
  } else {
    acc.m = (acc.m << BigInt(acc.e - e)) + m;
    acc.e = e;
  }
}

/** acc += x, exactly. -0 and 0 add nothing. */
export function addDouble(acc: Exact, x: number): void {
  if (x === 0) return;
  const { m, e } = oddMantissa(x);
  addParts(acc, BigInt(m), e);
}

/** acc += x², exactly. */
export function addSquare(acc: Exact, x: number): void {
  if (x === 0) return;
  const { m, e } = oddMantissa(x);
  const b = BigInt(m);
  addParts(acc, b * b, 2 * e);
}

/** acc += other, exactly (other is unchanged). */
export function addExact(acc: Exact, other: Exact): void {
  addParts(acc, other.m, other.e);
}

/** The unique spelling of an exact number: m odd, or m = 0 with e = 0. */
export function canonical(x: Exact): Exact {
  if (x.m === 0n) return { m: 0n, e: 0 };
  const tz = trailingZeros(x.m);
  return tz === 0 ? { m: x.m, e: x.e } : { m: x.m >> BigInt(tz), e: x.e + tz };
}

/**
 * Text form for storage: a hexadecimal odd mantissa and a binary exponent, `"-7dp3"` = −125 × 2³ = −1000,
 * `"3p-1"` = 1.5, `"0"` for zero. Exact and unique, so equal sums encode to equal strings.
 */
export function encodeExact(x: Exact): string {
  const c = canonical(x);
  if (c.m === 0n) return '0';
  return `${c.m < 0n ? '-' : ''}${(c.m < 0n ? -c.m : c.m).toString(16)}p${c.e}`;
}

const EXACT_TEXT = /^(-?)([0-9a-f]+)p(-?\d+)$/;

/** Parses `encodeExact` output; undefined for anything that is not its canonical form. */
export function decodeExact(text: unknown): Exact | undefined {
  if (text === '0') return exactZero();
  if (typeof text !== 'string') return undefined;
  const match = EXACT_TEXT.exec(text);
  if (match === null) return undefined;
  const magnitude = BigInt(`0x${match[2]}`);
  const e = Number(match[3]);
  if ((magnitude & 1n) === 0n || !Number.isSafeInteger(e)) return undefined;
  return { m: match[1] === '-' ? -magnitude : magnitude, e };
}

/** The double nearest x (ties to even); ±Infinity beyond the double range. */
export function exactToDouble(x: Exact): number {
  return roundQuotient(x.m, 1n, x.e);
}

/**
 * Rounds q × 2^exp to the nearest double, ties to even, where the true value is q × 2^exp plus a
 * fraction of 2^exp that is zero when `inexact` is false and strictly between 0 and 1 otherwise.
 * Needs q ≥ 2^54 so that the fraction lies below the rounding position. q > 0.
 */
function roundScaled(q: bigint, inexact: boolean, exp: number): number {
  const lq = bitLength(q);
  const top = lq - 1 + exp; // binary exponent of the leading bit
  if (top > 1023) return Infinity;
  // Bits to drop: down to 53 significant bits, or fewer where the result is subnormal (ulp 2^-1074).
  const drop = Math.max(lq - 53, -1074 - exp);
  if (drop > lq) return 0; // below half the smallest subnormal
  const shift = BigInt(drop);
  let kept = q >> shift;
  const rest = q - (kept << shift);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (inexact || (kept & 1n) === 1n))) kept += 1n;
  return Number(kept) * pow2(exp + drop);
}

/** Nearest double to num / den × 2^exp (den > 0), ties to even; ±Infinity beyond range, +0 for zero. */
export function roundQuotient(num: bigint, den: bigint, exp: number): number {
  if (num === 0n) return 0;
  const negative = num < 0n;
  const a = negative ? -num : num;
  // Scale so the integer quotient has 56 or 57 bits, then round it with the remainder as a sticky bit.
  const s = 56 - bitLength(a) + bitLength(den);
  const n2 = s >= 0 ? a << BigInt(s) : a;
  const d2 = s >= 0 ? den : den << BigInt(-s);
  const q = n2 / d2;
  const v = roundScaled(q, n2 - q * d2 !== 0n, exp - s);
  return negative ? -v : v;
}

/** Nearest double to √(num / den × 2^exp) (num ≥ 0, den > 0), ties to even. */
export function roundSqrtQuotient(num: bigint, den: bigint, exp: number): number {
  if (num < 0n) throw new RangeError('roundSqrtQuotient of a negative number');
  if (num === 0n) return 0;
  if (exp % 2 !== 0) {
    num <<= 1n;
    exp -= 1;
  }
  // Scale by 4^s so the integer square root has at least 56 bits.
  const s = Math.ceil((113 - bitLength(num) + bitLength(den)) / 2);
  const n2 = s >= 0 ? num << BigInt(2 * s) : num;
  const d2 = s >= 0 ? den : den << BigInt(-2 * s);
  const x = n2 / d2;
  const r = isqrt(x);
  return roundScaled(r, r * r !== x || n2 - x * d2 !== 0n, exp / 2 - s);
}

/** ⌊√n⌋ for n ≥ 0 (Newton's method from above). */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}
