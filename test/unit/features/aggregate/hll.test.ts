/** HyperLogLog: the hash is MurmurHash3, the error stays within its documented bound, storage is exact. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregatorFor } from '../../../../src/features/aggregate/aggregators.ts';
import { murmur3 } from '../../../../src/features/aggregate/hash.ts';
import type { Hll } from '../../../../src/features/aggregate/hll.ts';
import { HLL_STANDARD_ERROR, hllDecode, hllEmpty, hllEncode, hllEstimate, hllHash, hllMergeInto, hllSet } from '../../../../src/features/aggregate/hll.ts';
import { int, rng } from './fixtures.ts';

const approx = aggregatorFor({ fn: 'APPROX_COUNT_DISTINCT', percentile: undefined });

function sketchOf(values: Iterable<string>): Hll {
  const h = hllEmpty();
  for (const v of values) {
    const { index, rank } = hllHash(JSON.stringify(v));
    hllSet(h, index, rank);
  }
  return h;
}

describe('MurmurHash3', () => {
  // Reference vectors of MurmurHash3_x86_32 over the UTF-16LE bytes of each string.
  it('matches the reference implementation', () => {
    assert.equal(murmur3('', 0), 0);
    assert.equal(murmur3('', 1), 0x514e28b7);
    assert.equal(murmur3('', 0xffffffff), 0x81f16f39);
    assert.equal(murmur3('\u0000\u0000', 0), 0x2362f9de); // bytes 00 00 00 00
    assert.equal(murmur3('\u4321\u8765', 0), 0xf55b516b); // bytes 21 43 65 87
    assert.equal(murmur3('\u4321', 0), 0xa0f7b07a); // bytes 21 43 (tail)
  });
});

describe('HyperLogLog', () => {
  it(`estimates 100k distinct values within 3 standard errors (3 × ${(HLL_STANDARD_ERROR * 100).toFixed(2)}%)`, () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const n = 100_000;
      const values = Array.from({ length: n }, (_, i) => `user-${seed}-${i}-${int(r, 0, 1e9)}`);
      const p = approx.empty();
      for (const v of values) approx.add(p, v, 0);
      for (let i = 0; i < 1000; i++) approx.add(p, values[i], 0); // repeats change nothing
      const estimate = approx.result(p) as number;
      const error = Math.abs(estimate - n) / n;
      assert.ok(error < 3 * HLL_STANDARD_ERROR, `seed ${seed}: estimate ${estimate}, error ${(error * 100).toFixed(2)}%`);
    }
  });

  it('stays within its bound across the range, including where linear counting hands over', () => {
    const r = rng(42);
    for (const n of [10, 100, 1_000, 5_000, 12_000, 20_000, 40_000, 60_000]) {
      const estimate = hllEstimate(sketchOf(Array.from({ length: n }, (_, i) => `v${i}-${int(r, 0, 1e9)}`)));
      const error = Math.abs(estimate - n) / n;
      assert.ok(error < 3 * HLL_STANDARD_ERROR, `n ${n}: estimate ${estimate}`);
    }
  });

  it('merges to the sketch of the union, sparse or dense', () => {
    const a = sketchOf(Array.from({ length: 300 }, (_, i) => `a${i}`)); // sparse
    const b = sketchOf(Array.from({ length: 30_000 }, (_, i) => `b${i}`)); // dense
    const union = sketchOf([...Array.from({ length: 300 }, (_, i) => `a${i}`), ...Array.from({ length: 30_000 }, (_, i) => `b${i}`)]);
    const ab = hllMergeInto(hllMergeInto(hllEmpty(), a), b);
    const ba = hllMergeInto(hllMergeInto(hllEmpty(), b), a);
    assert.equal(hllEncode(ab), hllEncode(union));
    assert.equal(hllEncode(ba), hllEncode(union));
  });

  it('stores sparse while that is shorter, dense after, and reads both back exactly', () => {
    const small = sketchOf(Array.from({ length: 50 }, (_, i) => `s${i}`));
    const large = sketchOf(Array.from({ length: 50_000 }, (_, i) => `l${i}`));
    assert.match(hllEncode(small), /^s14:/);
    assert.match(hllEncode(large), /^d14:/);
    assert.equal(hllEncode(large).length, 4 + 16_384);
    for (const h of [small, large, hllEmpty()]) {
      const text = hllEncode(h);
      const back = hllDecode(text)!;
      assert.equal(hllEncode(back), text);
      assert.equal(hllEstimate(back), hllEstimate(h));
    }
    assert.equal(hllEncode(hllEmpty()), 's14:');
  });

  it('refuses texts it could not have written', () => {
    const small = hllEncode(sketchOf(['x', 'y']));
    const dense = `d14:${Buffer.alloc(12_288).toString('base64')}`; // all zero: would have been sparse
    for (const bad of [small.replace('s14', 's12'), `${small}=`, dense, 's14:AAA', 42, null]) assert.equal(hllDecode(bad), undefined, String(bad));
  });
});
