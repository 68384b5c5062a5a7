/**
 * IEEE-754 double bits, read and built exactly. The exact sums and the quantile sketch index values by
 * their binary exponent and significand instead of calling Math.log or Math.pow: the ECMAScript spec lets
 * those be approximated differently per engine and version, and a tile written by one materializer build
 * must finalise to the same bits in every later gateway build. Integer, bit and basic IEEE operations are
 * exact or correctly rounded everywhere.
 */

const view = new DataView(new ArrayBuffer(8));

/** POW2[k] = 2^k for k in 0..64, built by doubling so no engine's pow is trusted. */
const POW2: readonly number[] = (() => {
  const out = [1];
  for (let k = 1; k <= 64; k++) out.push(out[k - 1]! * 2);
  return out;
})();
const TWO_32 = POW2[32]!;
const TWO_52 = POW2[52]!;
const TWO_53 = POW2[53]!;

/** The parts of a finite double: |x| = significand × 2^exponent, with the significand an integer < 2^53. */
export interface DoubleParts {
  readonly negative: boolean;
  /** The 11-bit biased exponent field (0 for zero and subnormals). */
  readonly biased: number;
  /** High 20 bits of the 52-bit fraction field. */
  readonly fracHi: number;
  /** Low 32 bits of the fraction field. */
  readonly fracLo: number;
}

export function doubleParts(x: number): DoubleParts {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  return { negative: hi >>> 31 === 1, biased: (hi >>> 20) & 0x7ff, fracHi: hi & 0xfffff, fracLo: view.getUint32(4) };
}

/**
 * A finite, non-zero double as an odd integer m and an exponent e with x = m × 2^e. The odd form makes the
 * pair unique, so exact sums built from it have one spelling.
 */
export function oddMantissa(x: number): { m: number; e: number } {
  if (x === 0 || !Number.isFinite(x)) throw new RangeError(`oddMantissa needs a finite non-zero number, got ${x}`);
  if (Number.isInteger(x) && Math.abs(x) < TWO_53) {
    // The common case (Int features, whole amounts): no bit fiddling needed beyond trailing zeros.
    let m = x;
    let e = 0;
    while (m % TWO_32 === 0) {
      m /= TWO_32;
      e += 32;
    }
    const low = Math.abs(m) % TWO_32;
    const tz = 31 - Math.clz32(low & -low);
    return { m: m / POW2[tz]!, e: e + tz };
  }
  const p = doubleParts(x);
  let m = p.fracHi * TWO_32 + p.fracLo + (p.biased === 0 ? 0 : TWO_52);
  let e = (p.biased === 0 ? 1 : p.biased) - 1075;
  const low = p.fracLo !== 0 ? p.fracLo : Math.floor(m / TWO_32);
  const tz = (p.fracLo !== 0 ? 0 : 32) + 31 - Math.clz32(low & -low);
  m /= POW2[tz]!;
  e += tz;
  return { m: p.negative ? -m : m, e };
}

/** 2^k exactly, for k in [−1074, 1023] (built from bits: Math.pow is not required to be exact). */
export function pow2(k: number): number {
  if (k > 1023) return Infinity;
  if (k < -1074) return 0;
  if (k >= -1022) {
    view.setUint32(0, (k + 1023) << 20);
    view.setUint32(4, 0);
  } else {
    const bit = k + 1074; // position of the single set bit in the 52-bit fraction field
    view.setUint32(0, bit >= 32 ? 1 << (bit - 32) : 0);
    view.setUint32(4, bit >= 32 ? 0 : (1 << bit) >>> 0);
  }
  return view.getFloat64(0);
}

/** Number of bits in |n| (0 for 0). */
export function bitLength(n: bigint): number {
  if (n < 0n) n = -n;
  if (n === 0n) return 0;
  const hex = n.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** Number of trailing zero bits of a non-zero integer. */
export function trailingZeros(n: bigint): number {
  if (n < 0n) n = -n;
  return bitLength(n & -n) - 1;
}
