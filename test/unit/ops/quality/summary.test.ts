/** Data-quality statistics of a window's values: golden values worked out by hand (and with NumPy's defaults). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finiteSorted, quantile, summarize, valueKind } from '../../../../src/ops/quality/summary.ts';

const close = (actual: number | undefined, expected: number, label: string) => assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${label}: ${actual} ≠ ${expected}`);

describe('feature statistics', () => {
  it('counts nulls and gives min, max, mean, stddev and quantiles of the rest', () => {
    const s = summarize([3, null, 1, 8, 2, undefined, 7, 5, 4, 6], 'numeric');
    assert.equal(s.count, 10);
    assert.equal(s.nulls, 2);
    assert.equal(s.nullRate, 0.2);
    assert.equal(s.distinct, null);
    assert.equal(s.numeric?.min, 1);
    assert.equal(s.numeric?.max, 8);
    assert.equal(s.numeric?.mean, 4.5);
    // Population standard deviation of 1…8: √((8² − 1) / 12) = √5.25.
    assert.equal(s.numeric?.stddev, Math.sqrt(5.25));
    // h = 7q between order statistics: 1 + 0.07, 1 + 0.35, 2 + 0.75, 4 + 0.5, 6 + 0.25, 7 + 0.3, 7 + 0.65, 7 + 0.93.
    const expected = [1.07, 1.35, 2.75, 4.5, 6.25, 7.3, 7.65, 7.93];
    assert.deepEqual(s.numeric?.quantiles.map((q) => q.q), [0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]);
    s.numeric!.quantiles.forEach((q, i) => close(q.value, expected[i]!, `q${q.q}`));
  });

  it('interpolates quantiles as NumPy and percentile_cont do', () => {
    const oneToTen = finiteSorted([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    close(quantile(oneToTen, 0.5), 5.5, 'p50');
    close(quantile(oneToTen, 0.9), 9.1, 'p90');
    close(quantile(oneToTen, 0.99), 9.91, 'p99');
    assert.equal(quantile(oneToTen, 0), 1);
    assert.equal(quantile(oneToTen, 1), 10);
    assert.equal(quantile(finiteSorted([42]), 0.99), 42);
    assert.ok(Number.isNaN(quantile(finiteSorted([]), 0.5)));
  });

  it('sorts numerically, not as text', () => {
    assert.deepEqual([...finiteSorted([10, 9, 100, -1, 2.5])], [-1, 2.5, 9, 10, 100]);
  });

  it('gives a mean independent of the order of the values (exact sums)', () => {
    const values = [0.1, 1e16, 0.2, -1e16, 0.3];
    const forward = summarize(values, 'numeric').numeric!.mean;
    const backward = summarize([...values].reverse(), 'numeric').numeric!.mean;
    // The exact sum is 0.6000000000000000055…, whose correctly rounded fifth is 0.12; summing left to right gives 0.06 one way and 0.02 the other.
    assert.equal(forward, 0.12);
    assert.equal(backward, 0.12);
  });

  it('leaves non-finite numbers out of the numeric statistics but counts them', () => {
    const s = summarize([1, Number.NaN, Infinity, 3], 'numeric');
    assert.equal(s.count, 4);
    assert.equal(s.nulls, 0);
    assert.equal(s.numeric?.mean, 2);
    assert.equal(s.numeric?.max, 3);
  });

  it('has no numeric statistics and no null rate when there is nothing to describe', () => {
    assert.deepEqual(summarize([], 'numeric'), { count: 0, nulls: 0, nullRate: null, distinct: null, numeric: null });
    assert.deepEqual(summarize([null, null], 'numeric'), { count: 2, nulls: 2, nullRate: 1, distinct: null, numeric: null });
  });

  it('counts distinct values of plain scalars, nulls aside', () => {
    const s = summarize(['a', 'b', null, 'a', 'c', 'b'], 'categorical');
    assert.deepEqual(s, { count: 6, nulls: 1, nullRate: 1 / 6, distinct: 3, numeric: null });
    assert.equal(summarize([true, false, true], 'categorical').distinct, 2);
    assert.equal(summarize([{ a: 1 }, null], 'other').distinct, null);
  });

  it('treats Int and Float as numeric, String, ID and Boolean as categorical, the rest as other', () => {
    const t = (scalar: string, list = false) => valueKind({ scalar: scalar as never, list, nullable: true });
    assert.deepEqual(['Int', 'Float', 'String', 'ID', 'Boolean', 'DateTime', 'JSON'].map((s) => t(s)), ['numeric', 'numeric', 'categorical', 'categorical', 'categorical', 'other', 'other']);
    assert.equal(t('Float', true), 'other');
  });
});
