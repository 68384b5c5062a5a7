/**
 * Exact sums and their correct rounding, checked against an independent BigInt oracle: every double is
 * scaled to an integer multiple of 2^-1074 by doubling (no shared code), and a result is correctly
 * rounded when no neighbouring double is closer to the exact value (ties to an even significand).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addDouble, addExact, addSquare, decodeExact, encodeExact, exactToDouble, exactZero, roundQuotient, roundSqrtQuotient } from '../../../../src/features/aggregate/exact.ts';
import { oddMantissa, pow2 } from '../../../../src/features/aggregate/float-bits.ts';
import { int, randomDouble, rng, shuffled } from './fixtures.ts';

const view = new DataView(new ArrayBuffer(8));

/** x × 2^scale as a BigInt, for any finite x and scale ≥ 1074 (doubling is exact for doubles). */
function scaled(x: number, scale = 1074): bigint {
  let k = 0;
  let y = x;
  while (!Number.isInteger(y)) {
    y *= 2;
    k += 1;
  }
  return BigInt(y) << BigInt(scale - k);
}

/** The adjacent doubles below and above a finite x. */
function neighbours(x: number): [number, number] {
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const step = (delta: bigint): number => {
    view.setBigUint64(0, bits + delta);
    return view.getFloat64(0);
  };
  if (x === 0) return [-(2 ** -1074), 2 ** -1074];
  return x > 0 ? [step(-1n), step(1n)] : [step(1n), step(-1n)];
}

function evenSignificand(x: number): boolean {
  view.setFloat64(0, x);
  return (view.getUint32(4) & 1) === 0;
}

const abs = (n: bigint): bigint => (n < 0n ? -n : n);

/**
 * Asserts r is the double nearest num / den × 2^-scale (den > 0): |num − den·R| is no greater than for
 * either neighbour, and on a tie r's significand is even.
 */
function assertCorrectlyRounded(r: number, num: bigint, den: bigint, scale: number, what: string): void {
  assert.ok(Number.isFinite(r), `${what}: finite`);
  const distance = (y: number): bigint => abs(num - den * scaled(y, scale));
  const d = distance(r);
  for (const n of neighbours(r)) {
    if (!Number.isFinite(n)) continue;
    const dn = distance(n);
    assert.ok(d < dn || (d === dn && evenSignificand(r)), `${what}: ${r} is not the nearest double (neighbour ${n})`);
  }
}

describe('exact sums', () => {
  it('sums decimals the way exact arithmetic does, not the way naive addition does', () => {
    const s = exactZero();
    for (const x of [0.1, 0.2, 0.3]) addDouble(s, x);
    assert.equal(exactToDouble(s), 0.6);
    assert.notEqual(0.1 + 0.2 + 0.3, 0.6);
  });

  it('keeps small terms that a huge term and its negation would swallow', () => {
    const s = exactZero();
    for (const x of [1e100, 1, -1e100, 2 ** -1074]) addDouble(s, x);
    assert.equal(exactToDouble(s), 1);
    const t = exactZero();
    for (const x of [1e308, 1e308, -1e308]) addDouble(t, x);
    assert.equal(exactToDouble(t), 1e308);
  });

  it('is the correctly rounded exact sum, in any order (BigInt oracle)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const xs = Array.from({ length: int(r, 1, 60) }, () => randomDouble(r)).filter((x) => Math.abs(x) < 1e307);
      const oracle = xs.reduce((acc, x) => acc + scaled(x), 0n);
      const forward = exactZero();
      for (const x of xs) addDouble(forward, x);
      const backward = exactZero();
      for (const x of shuffled(r, xs)) addDouble(backward, x);
      assert.equal(encodeExact(forward), encodeExact(backward));
      const sum = exactToDouble(forward);
      assert.ok(Object.is(sum, exactToDouble(backward)));
      if (oracle === 0n) assert.ok(Object.is(sum, 0), `seed ${seed}: a zero sum is +0`);
      else assertCorrectlyRounded(sum, oracle, 1n, 1074, `seed ${seed}`);
    }
  });

  it('rounds ties to even and underflows to subnormals exactly', () => {
    assert.equal(roundQuotient(3n, 1n, -1075), 2 * 2 ** -1074); // 1.5 ulp → 2 ulp (even)
    assert.equal(roundQuotient(5n, 1n, -1075), 2 * 2 ** -1074); // 2.5 ulp → 2 ulp
    assert.equal(roundQuotient(1n, 1n, -1075), 0); // half the smallest subnormal → 0 (even)
    assert.equal(roundQuotient(2n ** 53n + 1n, 1n, 0), 2 ** 53); // tie → even
    assert.equal(roundQuotient(2n ** 53n + 3n, 1n, 0), 2 ** 53 + 4);
    assert.equal(roundQuotient(1n, 1n, 1024), Infinity);
    assert.equal(roundQuotient(-1n, 3n, 0), -1 / 3);
    assert.equal(roundQuotient(1n, 10n, 0), 0.1);
  });

  it('rounds quotients and square roots correctly (BigInt oracle)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(1000 + seed);
      const num = BigInt(Math.floor(r() * 2 ** 52)) * BigInt(int(r, 1, 2 ** 30)) + BigInt(int(r, 0, 99));
      const den = BigInt(int(r, 1, 2 ** 40));
      const exp = int(r, -200, 200);
      const scale = 1074 + 400;
      const numScaled = exp >= 0 ? num << BigInt(exp + scale - 0) : num << BigInt(scale + exp);
      const q = roundQuotient(num, den, exp);
      assertCorrectlyRounded(q, numScaled, den, scale, `quotient seed ${seed}`);
      // √v is correctly rounded when v lies between the squares of the midpoints to its neighbours.
      const root = roundSqrtQuotient(num, den, 2 * exp);
      const v = { num: num << BigInt(2 * scale + 2 * exp + 2), den }; // v × 2^(2·scale + 2)
      for (const n of neighbours(root)) {
        const mid = scaled(root, scale) + scaled(n, scale); // 2 × midpoint × 2^scale
        const midSquared = mid * mid * v.den;
        if (n < root) assert.ok(midSquared <= v.num, `sqrt seed ${seed}: below the lower midpoint`);
        else assert.ok(midSquared >= v.num, `sqrt seed ${seed}: above the upper midpoint`);
      }
    }
    assert.equal(roundSqrtQuotient(2n, 1n, 0), Math.SQRT2);
    assert.equal(roundSqrtQuotient(9n, 4n, 0), 1.5);
  });

  it('sums squares exactly', () => {
    const s = exactZero();
    for (const x of [0.1, 1e200, -3]) addSquare(s, x);
    const oracle = scaled(0.1) ** 2n + scaled(1e200) ** 2n + 9n * (1n << 2148n);
    assert.equal(s.m << BigInt(s.e + 2148), oracle);
  });

  it('encodes one canonical text per exact value, and decodes it back', () => {
    const a = exactZero();
    addDouble(a, 1000);
    assert.equal(encodeExact(a), '7dp3');
    addDouble(a, -1000.5);
    assert.equal(encodeExact(a), '-1p-1');
    assert.equal(encodeExact(exactZero()), '0');
    const b = exactZero();
    for (const x of [2 ** 60, 3, 2 ** -60]) addDouble(b, x);
    const text = encodeExact(b);
    const back = decodeExact(text)!;
    assert.equal(encodeExact(back), text);
    const c = exactZero();
    addExact(c, back);
    assert.equal(exactToDouble(c), exactToDouble(b));
    for (const bad of ['', '8p0', '1p', 'xp1', 3, null, '-0', '1p1.5']) assert.equal(decodeExact(bad), undefined, String(bad));
  });

  it('splits doubles into an odd mantissa and exponent', () => {
    assert.deepEqual(oddMantissa(12), { m: 3, e: 2 });
    assert.deepEqual(oddMantissa(-0.75), { m: -3, e: -2 });
    assert.deepEqual(oddMantissa(2 ** -1074), { m: 1, e: -1074 });
    assert.deepEqual(oddMantissa(2 ** 80), { m: 1, e: 80 });
    assert.equal(pow2(-1074), 2 ** -1074);
    assert.equal(pow2(1023), 2 ** 1023);
    assert.equal(pow2(-1022), 2 ** -1022);
    assert.throws(() => oddMantissa(0), RangeError);
  });
});
