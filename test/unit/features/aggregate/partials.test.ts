/**
 * Every aggregate function's partial: golden values, and the property the serving paths rely on — random
 * events split into random groups, folded and merged in random orders and tree shapes, some groups passed
 * through storage (encode → JSON → decode), give the same encoding and the same finalised bits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Aggregator } from '../../../../src/features/aggregate/aggregator.ts';
import { PartialDecodeError, merge } from '../../../../src/features/aggregate/aggregator.ts';
import { aggregatorFor, inputValue } from '../../../../src/features/aggregate/aggregators.ts';
import { featureValue } from '../../../../src/features/aggregate/finalize.ts';
import type { AggregateFunction } from '../../../../src/registry/types.ts';
import { AGGREGATE_FUNCTIONS } from '../../../../src/registry/types.ts';
import type { Rng } from './fixtures.ts';
import { aggFeature, int, pick, randomDouble, randomGroups, randomTree, rng, shuffled } from './fixtures.ts';

interface Event {
  readonly value: unknown;
  readonly time: number;
}

const agg = (fn: AggregateFunction, percentile?: number): Aggregator => aggregatorFor({ fn, percentile: fn === 'APPROX_PERCENTILE' ? (percentile ?? 0.9) : undefined });

function fold(a: Aggregator, events: readonly Event[]): unknown {
  const p = a.empty();
  for (const e of events) a.add(p, e.value, e.time);
  return p;
}

const resultOf = (a: Aggregator, values: readonly unknown[]): unknown => a.result(fold(a, values.map((value, i) => ({ value, time: i }))));
const encoded = (a: Aggregator, p: unknown): string => JSON.stringify(a.encode(p));
const stored = (a: Aggregator, p: unknown): unknown => a.decode(JSON.parse(JSON.stringify(a.encode(p))));

/** Bitwise equality for numbers (0 vs −0, NaN), deep equality otherwise. */
function assertSameResult(actual: unknown, expected: unknown, what: string): void {
  if (typeof expected === 'number') assert.ok(Object.is(actual, expected), `${what}: ${String(actual)} is not bit-identical to ${expected}`);
  else assert.deepEqual(actual, expected, what);
}

// {"10":…,"9":…}: JSON.parse puts integer-like keys first, so its canonical text is not its JSON.stringify.
const OBJECTS = [{ a: 1, b: [2, 3] }, { b: [2, 3], a: 1 }, { a: 1 }, { '10': 'x', '9': [{ '2': 1, b: 0 }] }, [1, 'x'], 'x', 'y', 'q"\\', '', 7, -0, 0, 2.5, 1e21, true, false];

/** Random inputs suited to each function, with nulls mixed in. */
function randomValue(fn: AggregateFunction, r: Rng): unknown {
  if (r() < 0.05) return null;
  switch (fn) {
    case 'FIRST':
    case 'LAST':
      return pick(r, OBJECTS);
    case 'COUNT_DISTINCT':
      return r() < 0.3 ? pick(r, OBJECTS) : `m${int(r, 0, 40)}`;
    case 'APPROX_COUNT_DISTINCT':
      return r() < 0.3 ? pick(r, OBJECTS) : `m${int(r, 0, 3000)}`;
    case 'COUNT':
      return pick(r, [1, 'x', { a: 1 }, true]);
    default:
      return randomDouble(r);
  }
}

describe('partials merge order-independently', () => {
  for (const fn of AGGREGATE_FUNCTIONS) {
    it(`${fn}: random groups, orders and merge trees give identical encodings and bits`, () => {
      const a = agg(fn);
      for (let seed = 1; seed <= 60; seed++) {
        const r = rng(seed * 7919 + fn.length);
        // Few distinct times so FIRST/LAST meet ties; many events sometimes so HLL and sets grow dense.
        const n = r() < 0.2 ? int(r, 600, 1500) : int(r, 0, 80);
        const events: Event[] = Array.from({ length: n }, () => ({ value: randomValue(fn, r), time: int(r, 0, 20) }));
        const reference = fold(a, events);
        const expected = encoded(a, reference);
        const groups = randomGroups(r, shuffled(r, events), 8).map((g) => {
          const p = fold(a, shuffled(r, g));
          return r() < 0.5 ? stored(a, p) : p;
        });
        const merged = randomTree(r, groups, (x, y) => (r() < 0.5 ? merge(a, x, y) : a.mergeInto(x, y)));
        assert.equal(encoded(a, merged), expected, `${fn} seed ${seed}: encoding`);
        assert.equal(a.encodeText(merged), expected, `${fn} seed ${seed}: encoding as text`);
        assertSameResult(a.result(merged), a.result(reference), `${fn} seed ${seed}: result`);
        assertSameResult(a.result(stored(a, merged)), a.result(reference), `${fn} seed ${seed}: result after storage`);
      }
    });
  }

  // The materializer writes rows with encodeText (merge-pieces.ts), everything else compares encode's JSON:
  // one text for one partial, whichever serialised it.
  it('encodeText is exactly JSON.stringify(encode) for every function, empty, small, large and stored', () => {
    for (const fn of AGGREGATE_FUNCTIONS) {
      const a = agg(fn);
      for (let seed = 1; seed <= 40; seed++) {
        const r = rng(seed * 104729 + fn.length);
        const n = seed === 1 ? 0 : r() < 0.2 ? int(r, 600, 1500) : int(r, 1, 60);
        const p = fold(a, Array.from({ length: n }, () => ({ value: randomValue(fn, r), time: int(r, -5, 20) })));
        assert.equal(a.encodeText(p), encoded(a, p), `${fn} seed ${seed}`);
        assert.equal(a.encodeText(stored(a, p)), encoded(a, p), `${fn} seed ${seed}, after storage`);
      }
    }
  });

  it('merge leaves its arguments unchanged', () => {
    for (const fn of AGGREGATE_FUNCTIONS) {
      const a = agg(fn);
      const r = rng(5);
      const x = fold(a, Array.from({ length: 30 }, (_, i) => ({ value: randomValue(fn, r), time: i })));
      const y = fold(a, Array.from({ length: 30 }, (_, i) => ({ value: randomValue(fn, r), time: i })));
      const [ex, ey] = [encoded(a, x), encoded(a, y)];
      merge(a, x, y);
      assert.equal(encoded(a, x), ex, fn);
      assert.equal(encoded(a, y), ey, fn);
    }
  });

  // The materializer's piece cache holds states that later merges fold into copies of other partials
  // (merge-pieces.ts): what mergeInto folded in must stay apart from what it was folded from.
  it('folding into a merge result leaves what was merged into it unchanged', () => {
    for (const fn of AGGREGATE_FUNCTIONS) {
      const a = agg(fn);
      const r = rng(11);
      const partial = (n: number, t0: number) => fold(a, Array.from({ length: n }, (_, i) => ({ value: randomValue(fn, r), time: t0 + i })));
      const [x, y, z] = [partial(40, 0), partial(40, 5), partial(1200, -3)];
      const [ex, ey] = [encoded(a, x), encoded(a, y)];
      const into = a.mergeInto(a.mergeInto(a.empty(), x), y);
      a.mergeInto(into, z);
      for (let i = 0; i < 50; i++) a.add(into, randomValue(fn, r), -10 + i);
      assert.equal(encoded(a, x), ex, `${fn}: the first partial`);
      assert.equal(encoded(a, y), ey, `${fn}: the second partial`);
    }
  });
});

describe('golden values', () => {
  it('COUNT counts non-null inputs, and every event without `of`', () => {
    assert.equal(resultOf(agg('COUNT'), [1, null, 'x', undefined, 0]), 3);
    assert.equal(resultOf(agg('COUNT'), []), 0);
    assert.equal(inputValue({ of: undefined }, { x: null }), true);
    assert.equal(inputValue({ of: 'x' }, { x: null }), null);
  });

  it('SUM is exact, and 0 for no events', () => {
    assert.equal(resultOf(agg('SUM'), [0.1, 0.2, 0.3]), 0.6);
    assert.equal(resultOf(agg('SUM'), [1e100, 1, -1e100, null]), 1);
    assert.ok(Object.is(resultOf(agg('SUM'), []), 0));
    assert.ok(Object.is(resultOf(agg('SUM'), [-0, -0]), 0));
  });

  it('AVG is the correctly rounded mean, null for no events', () => {
    assert.equal(resultOf(agg('AVG'), [1, 2, 3, 4]), 2.5);
    assert.equal(resultOf(agg('AVG'), [0.1, 0.2, 0.3]), 0.2);
    assert.notEqual((0.1 + 0.2 + 0.3) / 3, 0.2);
    assert.equal(resultOf(agg('AVG'), [1, 1, 2]), 4 / 3);
    assert.equal(resultOf(agg('AVG'), [null]), null);
  });

  it('VARIANCE and STDDEV are population statistics, exact despite cancellation', () => {
    assert.equal(resultOf(agg('VARIANCE'), [2, 4, 4, 4, 5, 5, 7, 9]), 4);
    assert.equal(resultOf(agg('STDDEV'), [2, 4, 4, 4, 5, 5, 7, 9]), 2);
    // Naive Σx²/n − mean² loses every digit here; the exact fraction is 2/3.
    assert.equal(resultOf(agg('VARIANCE'), [1e9 + 1, 1e9 + 2, 1e9 + 3]), 2 / 3);
    assert.equal(resultOf(agg('STDDEV'), [1e9 + 1, 1e9 + 2, 1e9 + 3]), Math.sqrt(2 / 3));
    assert.equal(resultOf(agg('VARIANCE'), [42.5]), 0);
    assert.equal(resultOf(agg('STDDEV'), [3, 3, 3]), 0);
    assert.equal(resultOf(agg('VARIANCE'), []), null);
    assert.equal(resultOf(agg('STDDEV'), [null]), null);
  });

  it('MIN and MAX compare numbers, fold −0 into 0, and are null for no events', () => {
    assert.equal(resultOf(agg('MIN'), [3, -2.5, null, 7]), -2.5);
    assert.equal(resultOf(agg('MAX'), [3, -2.5, null, 7]), 7);
    assert.ok(Object.is(resultOf(agg('MIN'), [0, -0]), 0));
    assert.ok(Object.is(resultOf(agg('MAX'), [-0]), 0));
    assert.equal(resultOf(agg('MAX'), []), null);
  });

  it('FIRST and LAST go by event time, ties by value (numbers numerically, others by canonical JSON)', () => {
    const first = agg('FIRST');
    const last = agg('LAST');
    const events = [
      { value: 'b', time: 5 },
      { value: 'a', time: 5 },
      { value: 'z', time: 9 },
      { value: 'c', time: 9 },
      { value: null, time: 1 },
    ];
    assert.equal(first.result(fold(first, events)), 'a');
    assert.equal(last.result(fold(last, events)), 'z');
    const numbers = [
      { value: 10, time: 1 },
      { value: 9, time: 1 },
    ];
    assert.equal(first.result(fold(first, numbers)), 9);
    assert.equal(last.result(fold(last, numbers)), 10);
    // One value whatever its key order, in canonical form.
    const objects = [
      { value: { b: 1, a: 2 }, time: 3 },
      { value: { a: 2, b: 1 }, time: 3 },
    ];
    assert.equal(JSON.stringify(last.result(fold(last, objects))), '{"a":2,"b":1}');
    assert.equal(first.result(first.empty()), null);
    assert.deepEqual(last.encode(fold(last, events)), [9, 'z']);
  });

  it('COUNT_DISTINCT counts canonical values exactly', () => {
    const a = agg('COUNT_DISTINCT');
    assert.equal(resultOf(a, ['m1', 'm2', 'm1', null, { a: 1, b: 2 }, { b: 2, a: 1 }, 0, -0, '0']), 5);
    assert.equal(resultOf(a, []), 0);
    assert.deepEqual(a.encode(fold(a, [{ value: 'b', time: 0 }, { value: 1, time: 0 }, { value: 'a', time: 0 }])), ['a', 'b', 1]);
  });

  it('APPROX_COUNT_DISTINCT is close to exact for small counts, 0 for none', () => {
    const a = agg('APPROX_COUNT_DISTINCT');
    assert.equal(resultOf(a, []), 0);
    assert.equal(resultOf(a, ['x', 'x', 'x']), 1);
    assert.equal(resultOf(a, Array.from({ length: 100 }, (_, i) => `u${i % 50}`)), 50);
  });

  it('APPROX_PERCENTILE answers the order statistic within 1%, null for no events', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    const p50 = resultOf(agg('APPROX_PERCENTILE', 0.5), values) as number; // rank ⌊0.5 · 99⌋ = 49 → 50
    assert.ok(Math.abs(p50 - 50) <= 0.5, String(p50));
    const p95 = resultOf(agg('APPROX_PERCENTILE', 0.95), values) as number; // rank 94 → 95
    assert.ok(Math.abs(p95 - 95) <= 0.95, String(p95));
    assert.equal(resultOf(agg('APPROX_PERCENTILE', 0.5), [null]), null);
  });

  it('encodes compactly', () => {
    const events = [2, 1000, null].map((value, time) => ({ value, time }));
    assert.equal(encoded(agg('COUNT'), fold(agg('COUNT'), events)), '2');
    assert.equal(encoded(agg('SUM'), fold(agg('SUM'), events)), '[2,"1f5p1"]');
    assert.equal(encoded(agg('VARIANCE'), fold(agg('VARIANCE'), events)), '[2,"1f5p1","3d091p2"]');
    assert.equal(encoded(agg('MIN'), fold(agg('MIN'), events)), '2');
    assert.equal(encoded(agg('APPROX_PERCENTILE'), fold(agg('APPROX_PERCENTILE'), events)), '[[],0,[50,1,498,1]]');
    assert.match(encoded(agg('APPROX_COUNT_DISTINCT'), fold(agg('APPROX_COUNT_DISTINCT'), events)), /^"s14:[A-Za-z0-9+/]{8}"$/);
  });
});

describe('typing results', () => {
  it('gives Int features integers in the 32-bit range, and null past it', () => {
    const intSum = aggFeature('SUM', { type: 'Int' });
    const floatSum = aggFeature('SUM', { type: 'Float' });
    const big = resultOf(agg('SUM'), [2 ** 31 - 1, 1]);
    assert.equal(featureValue(intSum, big), null);
    assert.equal(featureValue(floatSum, big), 2 ** 31);
    assert.equal(featureValue(intSum, resultOf(agg('SUM'), [2 ** 31 - 2, 1])), 2 ** 31 - 1);
    assert.equal(featureValue(aggFeature('COUNT', { type: 'Int' }), 0), 0);
  });

  it('turns results beyond the double range into null', () => {
    const sum = resultOf(agg('SUM'), [1e308, 1e308]);
    assert.equal(sum, Infinity);
    assert.equal(featureValue(aggFeature('SUM'), sum), null);
  });

  it('passes other values through', () => {
    assert.deepEqual(featureValue(aggFeature('LAST', { type: 'JSON' }), { a: 1 }), { a: 1 });
    assert.equal(featureValue(aggFeature('LAST', { type: 'DateTime' }), 1_700_000_000_000), 1_700_000_000_000);
    assert.equal(featureValue(aggFeature('AVG'), null), null);
  });
});

describe('misuse', () => {
  it('refuses stored encodings it could not have produced', () => {
    const bad: [AggregateFunction, unknown][] = [
      ['COUNT', -1],
      ['COUNT', 1.5],
      ['SUM', [1]],
      ['SUM', [0, '1p0']],
      ['AVG', [1, '2p0']],
      ['VARIANCE', [1, '1p0']],
      ['MIN', 'x'],
      ['MAX', -0],
      ['FIRST', [1.5, 'x']],
      ['LAST', [1, null]],
      ['COUNT_DISTINCT', ['a', 'a']],
      ['COUNT_DISTINCT', 'a'],
      ['APPROX_COUNT_DISTINCT', 'x14:'],
      ['APPROX_COUNT_DISTINCT', 's14:AAAA'],
      ['APPROX_PERCENTILE', [[], -1, []]],
      ['APPROX_PERCENTILE', [[2, 1, 1, 1], 0, []]],
    ];
    for (const [fn, json] of bad) assert.throws(() => agg(fn).decode(json), PartialDecodeError, `${fn} ${JSON.stringify(json)}`);
  });

  it('refuses inputs of the wrong kind instead of folding them', () => {
    assert.throws(() => agg('SUM').add(agg('SUM').empty(), '12', 0), TypeError);
    assert.throws(() => agg('AVG').add(agg('AVG').empty(), Number.NaN, 0), TypeError);
    assert.throws(() => agg('MAX').add(agg('MAX').empty(), Infinity, 0), TypeError);
    assert.throws(() => agg('LAST').add(agg('LAST').empty(), 1, 1.5), TypeError);
    assert.throws(() => aggregatorFor({ fn: 'APPROX_PERCENTILE', percentile: undefined }), RangeError);
  });
});
