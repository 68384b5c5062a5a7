/** The host's half of the batch protocol: which columns travel packed, and what values they carry. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOutput, encodeBatch } from '../../../src/transforms/wire.ts';

const rows = <T>(n: number, value: (r: number) => T): T[] => Array.from({ length: n }, (_, r) => value(r));

describe('batch wire format', () => {
  it('packs the number columns of a large batch into one Float64Array, and keeps the others inline', () => {
    const n = 100;
    const strings = rows(n, (r) => `s${r}`);
    const wire = encodeBatch({ n, asOf: rows(n, (r) => 1000 + r), request: { amount: rows(n, (r) => (r % 2 === 0 ? null : r)), note: strings }, views: { v: { x: rows(n, (r) => r / 3) } } });
    const block = (ref: unknown) => Array.from(wire.numbers!.subarray((ref as number) * n, (ref as number) * n + 2));
    assert.equal(wire.header.packed, true);
    assert.deepEqual(new Set([wire.header.asOf, wire.header.request.amount, wire.header.views.v!.x]), new Set([0, 1, 2]));
    assert.deepEqual(block(wire.header.asOf), [1000, 1001]);
    assert.deepEqual(block(wire.header.request.amount), [NaN, 1]);
    assert.deepEqual(block(wire.header.views.v!.x), [0, 1 / 3]);
    assert.equal(wire.header.request.note, strings);
    assert.equal(wire.numbers!.length, 3 * n);
    assert.equal(wire.cells, 4 * n);
  });

  it('writes numbers as JSON would read them back: -0 as 0, NaN and Infinity as null', () => {
    const wire = encodeBatch({ n: 64, asOf: rows(64, () => 0), request: {}, views: { v: { x: rows(64, (r) => [-0, NaN, Infinity, -Infinity, undefined][r % 5]) } } });
    const at = wire.header.views.v!.x as number;
    const x = Array.from(wire.numbers!.subarray(at * 64, at * 64 + 5));
    assert.ok(Object.is(x[0], 0));
    assert.deepEqual(x.slice(1), [NaN, NaN, NaN, NaN]);
    assert.deepEqual(JSON.parse(JSON.stringify([-0, NaN, Infinity, -Infinity, undefined])), [0, null, null, null, null]);
  });

  it('sends a small batch as JSON alone: a typed array costs more than it saves there', () => {
    const wire = encodeBatch({ n: 3, asOf: [1, 2, 3], request: {}, views: { v: { x: [1.5, null, 2] } } });
    assert.equal(wire.header.packed, false);
    assert.equal(wire.numbers, undefined);
    assert.deepEqual(wire.header.views.v!.x, [1.5, null, 2]);
  });

  it('decodes packed outputs by their declared type: null where NaN, Booleans from 1 and 0, -0 as 0', () => {
    const numbers = new Float64Array([2.5, NaN, -0, 1, 0, NaN]);
    assert.deepEqual(decodeOutput(['y', 'Float', false, true], 0, numbers, 3), [2.5, null, 0]);
    assert.ok(Object.is(decodeOutput(['y', 'Float', false, true], 0, numbers, 3)[2], 0));
    assert.deepEqual(decodeOutput(['b', 'Boolean', false, true], 1, numbers, 3), [true, false, null]);
    assert.deepEqual(decodeOutput(['s', 'String', false, true], ['a', null, 'c'], numbers, 3), ['a', null, 'c']);
  });
});
