/** Parity's pure core: the exact value encoding, exact equality, the verdict per feature, and counting. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, tally } from '../../../../src/ops/parity/judge.ts';
import { decodeValue, encodeValue, sameValue } from '../../../../src/ops/parity/values.ts';

describe('parity value encoding', () => {
  const cases: [string, unknown][] = [
    ['integers and floats', { a: 1, b: 0.1 + 0.2, c: 5e-324, d: 1.7976931348623157e308 }],
    ['negative zero', -0],
    ['numbers JSON cannot spell', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]],
    ['strings, booleans, null', ['x', '', true, false, null]],
    ['nested JSON values', { list: [1, [2, { x: -0 }]], nested: { deep: { deeper: 'y' } } }],
    ['an object that looks like the encoding itself', { $skewless: '-0', value: 1 }],
    ['an ISO DateTime as served', '2026-11-21T05:31:09.000Z'],
  ];
  for (const [name, value] of cases) {
    it(`gives back exactly what it was given: ${name}`, () => {
      const back = decodeValue(encodeValue(value));
      assert.ok(sameValue(back, value), `${encodeValue(value)} decoded to ${JSON.stringify(back)}`);
      assert.deepStrictEqual(back, value);
    });
  }

  it('keeps -0 apart from 0, which JSON alone would not', () => {
    assert.equal(JSON.stringify(-0), '0');
    assert.ok(Object.is(decodeValue(encodeValue(-0)), -0));
    assert.ok(Object.is(decodeValue(encodeValue(0)), 0));
  });

  it('stores undefined as null', () => {
    assert.equal(decodeValue(encodeValue(undefined)), null);
  });
});

describe('parity equality', () => {
  it('compares floats exactly', () => {
    assert.equal(sameValue(0.1 + 0.2, 0.3), false);
    assert.equal(sameValue(0.30000000000000004, 0.1 + 0.2), true);
    assert.equal(sameValue(-0, 0), false);
    assert.equal(sameValue(Number.NaN, Number.NaN), true);
  });

  it('compares lists item by item and in order', () => {
    assert.equal(sameValue([1, 2, 3], [1, 2, 3]), true);
    assert.equal(sameValue([1, 2, 3], [3, 2, 1]), false);
    assert.equal(sameValue([1, 2], [1, 2, 3]), false);
    assert.equal(sameValue([1], { 0: 1 }), false);
  });

  it('compares objects key by key, whatever their key order', () => {
    assert.equal(sameValue({ a: 1, b: [2] }, { b: [2], a: 1 }), true);
    assert.equal(sameValue({ a: 1 }, { a: 1, b: null }), false);
    assert.equal(sameValue({ a: 1, b: 2 }, { a: 1, c: 2 }), false);
  });

  it('never equates different types', () => {
    assert.equal(sameValue(1, '1'), false);
    assert.equal(sameValue(null, 0), false);
    assert.equal(sameValue(null, {}), false);
    assert.equal(sameValue(true, 1), false);
  });
});

describe('parity verdicts', () => {
  const present = (value: unknown) => ({ status: 'PRESENT', value });
  const none = { status: 'NOT_FOUND', value: null };
  it('matches equal values and agreeing absences', () => {
    assert.deepEqual(judge(present(42), present(42)), { outcome: 'MATCH' });
    assert.deepEqual(judge(present(null), present(null)), { outcome: 'MATCH' });
    assert.deepEqual(judge(none, none), { outcome: 'MATCH' });
    assert.deepEqual(judge({ status: 'EXPIRED', value: null }, none), { outcome: 'MATCH' });
  });

  it('tells a different value from a missing one, on either side', () => {
    assert.deepEqual(judge(present(999), present(42)), { outcome: 'MISMATCH' });
    assert.deepEqual(judge(none, present(42)), { outcome: 'MISSING_ONLINE' });
    assert.deepEqual(judge({ status: 'EXPIRED', value: null }, present(42)), { outcome: 'MISSING_ONLINE' });
    assert.deepEqual(judge(present(42), none), { outcome: 'MISSING_OFFLINE' });
    // A row present with a null feature is still a row offline does not have.
    assert.deepEqual(judge(present(null), none), { outcome: 'MISSING_OFFLINE' });
  });

  it('skips, with the code, what the replay could not compute', () => {
    assert.deepEqual(judge(present(1), { status: 'ERROR', value: null, error: 'TRANSFORM_FAILED' }), { outcome: 'SKIPPED', reason: 'OFFLINE_ERROR TRANSFORM_FAILED' });
  });

  it('counts verdicts in total and per feature, sorted', () => {
    const { totals, features } = tally([
      { view: 'b', feature: 'x', outcome: 'MATCH', n: 3 },
      { view: 'a', feature: 'y', outcome: 'MISMATCH' },
      { view: 'a', feature: 'y', outcome: 'MATCH', n: 2 },
      { view: 'a', feature: 'x', outcome: 'MISSING_ONLINE' },
    ]);
    assert.deepEqual(totals, { MATCH: 5, MISMATCH: 1, MISSING_ONLINE: 1, MISSING_OFFLINE: 0, SKIPPED: 0 });
    assert.deepEqual(
      features.map((f) => [f.view, f.feature, f.counts.MATCH, f.counts.MISMATCH, f.counts.MISSING_ONLINE]),
      [
        ['a', 'x', 0, 0, 1],
        ['a', 'y', 2, 1, 0],
        ['b', 'x', 3, 0, 0],
      ],
    );
  });
});
