/** The export's bounded sample of each numeric column. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reservoir } from '../../../../src/ops/quality/reservoir.ts';

describe('reservoir sample', () => {
  it('keeps every value while under capacity', () => {
    const r = new Reservoir(10);
    for (const v of [5, 3, 9]) r.add(v);
    assert.deepEqual([...r.sorted()], [3, 5, 9]);
    assert.equal(r.seen, 3);
  });

  it('holds at most its capacity, drawn from the whole stream, the same for the same seed', () => {
    const draw = (seed: number) => {
      const r = new Reservoir(1000, seed);
      for (let i = 0; i < 100_000; i++) r.add(i);
      return r;
    };
    const a = draw(7);
    const sample = [...a.sorted()];
    assert.equal(sample.length, 1000);
    assert.equal(a.seen, 100_000);
    assert.equal(new Set(sample).size, 1000, 'each value is kept at most once');
    assert.deepEqual([...draw(7).sorted()], sample);
    assert.notDeepEqual([...draw(8).sorted()], sample);
    // Uniform over the stream: each tenth of it holds about a tenth of the sample (the first values, kept
    // first, are no more likely to stay than the last). 1000 draws: a tenth is 100 ± 3σ (σ ≈ 9.5).
    const tenths = new Array<number>(10).fill(0);
    for (const v of sample) tenths[Math.floor(v / 10_000)]!++;
    for (const count of tenths) assert.ok(count > 70 && count < 130, `tenths ${tenths.join(', ')}`);
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new Reservoir(0), RangeError);
    assert.throws(() => new Reservoir(1.5), RangeError);
  });
});
