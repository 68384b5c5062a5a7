/** The quantile sketch: buckets within 1% relative accuracy, quantiles against an exact sort. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SKETCH_RELATIVE_ACCURACY, bucketIndex, bucketValue, sketchAdd, sketchCount, sketchEmpty, sketchMergeInto, sketchQuantile } from '../../../../src/features/aggregate/sketch.ts';
import { int, randomDouble, rng } from './fixtures.ts';

function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

const withinAccuracy = (estimate: number, exact: number): boolean => Math.abs(estimate - exact) <= SKETCH_RELATIVE_ACCURACY * Math.abs(exact);

describe('quantile sketch buckets', () => {
  it('answers every value within 1% (relative)', () => {
    const r = rng(11);
    for (let k = 0; k < 20_000; k++) {
      const x = Math.abs(randomDouble(r));
      if (x < 2.2250738585072014e-308) continue;
      assert.ok(withinAccuracy(bucketValue(bucketIndex(x)), x), `x ${x}`);
    }
    for (const x of [Number.MIN_VALUE * 2 ** 52, 1, 2, 1.5, 1e-300, 1e300, Number.MAX_VALUE / 2]) {
      assert.ok(withinAccuracy(bucketValue(bucketIndex(x)), x), `x ${x}`);
    }
  });

  it('puts powers of two at the top of their bucket and is monotone', () => {
    assert.equal(bucketIndex(1), 0);
    assert.equal(bucketIndex(2), 50);
    assert.equal(bucketIndex(1 + 2 ** -52), 1);
    let previous = -Infinity;
    for (let x = 0.001; x < 1000; x *= 1.0003) {
      const i = bucketIndex(x);
      assert.ok(i >= previous);
      previous = i;
    }
  });
});

describe('quantiles', () => {
  it('are within 1% of the exact order statistic, for positives, negatives and zeros', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const n = int(r, 1, 3000);
      const values = Array.from({ length: n }, () => {
        const kind = int(r, 0, 9);
        if (kind === 0) return 0;
        const x = Math.exp(r() * 20 - 5);
        return kind <= 3 ? -x : x;
      });
      const s = sketchEmpty();
      for (const v of values) sketchAdd(s, v);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
        const estimate = sketchQuantile(s, q)!;
        const exact = exactQuantile(sorted, q);
        assert.ok(withinAccuracy(estimate, exact), `seed ${seed} q ${q}: ${estimate} vs ${exact}`);
      }
    }
  });

  it('answers zero from the zero bucket, and null when empty', () => {
    const s = sketchEmpty();
    assert.equal(sketchQuantile(s, 0.5), null);
    sketchAdd(s, 0);
    sketchAdd(s, -0);
    sketchAdd(s, 5e-324);
    assert.equal(sketchCount(s), 3);
    assert.equal(sketchQuantile(s, 0.5), 0);
  });

  it('merges by adding counts', () => {
    const a = sketchEmpty();
    const b = sketchEmpty();
    const all = sketchEmpty();
    for (let i = 1; i <= 1000; i++) {
      sketchAdd(i % 2 === 0 ? a : b, i - 300);
      sketchAdd(all, i - 300);
    }
    const merged = sketchMergeInto(sketchMergeInto(sketchEmpty(), b), a);
    assert.deepEqual(merged, all);
    assert.equal(sketchCount(merged), 1000);
  });
});
