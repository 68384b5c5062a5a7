/** Drift references and PSI: bins, shares and the index against values worked out by hand. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_REFERENCE_VALUES, PSI_EPSILON, binCounts, binOf, buildReference, driftAgainst, driftLevel, psi } from '../../../../src/ops/quality/drift.ts';
import { finiteSorted } from '../../../../src/ops/quality/summary.ts';

const range = (n: number, f: (i: number) => number = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

describe('drift references', () => {
  it('cuts at the deciles, so values 1…1000 fall a tenth in each bin', () => {
    const ref = buildReference(finiteSorted(range(1000, (i) => i + 1)))!;
    // h = 999·i/10: the edges interpolate between neighbours (100.9, 200.8, …, 900.1).
    assert.deepEqual(ref.edges.map((e) => Math.round(e * 1e9) / 1e9), [100.9, 200.8, 300.7, 400.6, 500.5, 600.4, 700.3, 800.2, 900.1]);
    assert.deepEqual(ref.proportions, range(10, () => 0.1));
    assert.equal(ref.count, 1000);
  });

  it('drops repeated edges: a feature with few distinct values keeps each value in a bin of its own', () => {
    // 0, 1, 2, 3 in shares 40%, 30%, 20%, 10%.
    const values = [...range(40, () => 0), ...range(30, () => 1), ...range(20, () => 2), ...range(10, () => 3)];
    const ref = buildReference(finiteSorted(values))!;
    // Deciles at h = 9.9·i: 0, 0, 0, 0.6 (interpolated across the 0→1 step at h = 39.6), 1, 1, 1.3, 2, 2.1;
    // the interpolated edges leave empty bins between the values, which hold nothing on either side.
    assert.deepEqual(ref.edges.map((e) => Math.round(e * 1e9) / 1e9), [0, 0.6, 1, 1.3, 2, 2.1]);
    assert.deepEqual(ref.proportions.map((p) => Math.round(p * 1e9) / 1e9), [0.4, 0, 0.3, 0, 0.2, 0, 0.1]);
  });

  it('needs MIN_REFERENCE_VALUES values', () => {
    assert.equal(buildReference(finiteSorted(range(MIN_REFERENCE_VALUES - 1))), undefined);
    assert.ok(buildReference(finiteSorted(range(MIN_REFERENCE_VALUES))));
  });

  it('puts a value equal to an edge in the bin below it, and anything beyond the edges in the open end bins', () => {
    const edges = [10, 20, 30];
    assert.deepEqual([-1e9, 10, 10.5, 20, 29.99, 30, 31, 1e9].map((v) => binOf(edges, v)), [0, 0, 1, 1, 2, 2, 3, 3]);
    assert.deepEqual(binCounts([5, null, 15, 'x', 25, 35, Number.NaN, 40], edges), [1, 1, 1, 2]);
  });
});

describe('PSI', () => {
  it('is Σ (current − reference) · ln(current / reference)', () => {
    // 0.25·ln 2 + 0.25·ln 1.5
    assert.equal(psi([0.5, 0.5], [0.25, 0.75]), 0.25 * Math.log(2) + 0.25 * Math.log(1.5));
    assert.equal(Math.round(psi([0.5, 0.5], [0.25, 0.75]) * 1e6) / 1e6, 0.274653);
    assert.equal(psi([0.1, 0.2, 0.7], [0.1, 0.2, 0.7]), 0);
  });

  it('takes an empty bin as PSI_EPSILON on either side', () => {
    const expected = -0.1 * Math.log(0.4 / 0.5) + (0.1 - PSI_EPSILON) * Math.log(0.1 / PSI_EPSILON);
    assert.equal(psi([0.5, 0.5, 0], [0.5, 0.4, 0.1]), expected);
    assert.equal(Math.round(expected * 1e6) / 1e6, 0.712399);
    assert.ok(Number.isFinite(psi([1, 0], [0, 1])));
  });

  it('refuses bins that do not line up', () => {
    assert.throws(() => psi([0.5, 0.5], [1]), RangeError);
  });

  it('reads below 0.1 as stable, 0.1 to 0.25 as moderate, above as major', () => {
    assert.deepEqual([0, 0.0999, 0.1, 0.25, 0.2501, 3].map(driftLevel), ['STABLE', 'STABLE', 'MODERATE', 'MODERATE', 'MAJOR', 'MAJOR']);
  });

  it('compares a window with a reference over the reference bins, nulls left out', () => {
    const reference = { edges: [10], proportions: [0.5, 0.5] };
    const drift = driftAgainst(reference, [1, 2, null, 3, 50]);
    assert.deepEqual(drift.current, [0.75, 0.25]);
    assert.equal(drift.count, 4);
    assert.equal(drift.psi, psi([0.5, 0.5], [0.75, 0.25]));
    assert.equal(drift.level, 'MAJOR');
    assert.deepEqual(driftAgainst(reference, [null, null]), { current: null, count: 0, psi: null, level: null });
  });
});
