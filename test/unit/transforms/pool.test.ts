/**
 * The sandbox against hostile and broken transforms: every bad row fails alone with its code, the rows
 * around it keep their values, and the pool keeps serving (with a fresh isolate where one was killed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TransformPool } from '../../../src/transforms/pool.ts';
import type { BatchInput, SandboxPlan, SandboxTransform } from '../../../src/transforms/pool.ts';

const source = (body: string) => `export default function (row: { v: { x: number | null }; asOf: number }): { y: number | null } {\n${body}\n}`;

const TRANSFORMS: SandboxTransform[] = [
  { name: 'double', path: 'double.ts', source: source('return { y: row.v.x === null ? null : row.v.x * 2 };') },
  { name: 'b_plus_one', path: 'b_plus_one.ts', source: 'export default function (row: { b: { y: number | null } }): { y: number | null } {\nreturn { y: row.b.y === null ? null : row.b.y + 1 };\n}' },
  { name: 'loop_on_3', path: 'loop_on_3.ts', source: source('if (row.v.x === 3) { for (;;) {} }\nreturn { y: row.v.x };') },
  { name: 'oom_on_5', path: 'oom_on_5.ts', source: source('if (row.v.x === 5) { const a: number[][] = []; for (;;) a.push(new Array(1e6).fill(row.v.x)); }\nreturn { y: row.v.x };') },
  { name: 'throw_on_2', path: 'throw_on_2.ts', source: source("if (row.v.x === 2) throw new Error('bad input two');\nreturn { y: row.v.x };") },
  { name: 'pollute', path: 'pollute.ts', source: source("(Object.prototype as Record<string, unknown>).polluted = 'yes';\nreturn { y: 1 };") },
  { name: 'read_pollution', path: 'read_pollution.ts', source: source("return { y: ({} as Record<string, unknown>).polluted === undefined ? 0 : 1 };") },
  { name: 'leave_state', path: 'leave_state.ts', source: source('(globalThis as Record<string, unknown>).count = 1;\nreturn { y: 1 };') },
  { name: 'clock', path: 'clock.ts', source: source('return { y: Date.now() };') },
  { name: 'new_date', path: 'new_date.ts', source: source('return { y: new Date().getTime() };') },
  { name: 'random', path: 'random.ts', source: source('return { y: Math.random() };') },
  { name: 'globals', path: 'globals.ts', source: source("const g = globalThis as Record<string, unknown>;\nreturn { y: ['process', 'require', 'fetch', 'setTimeout', 'setInterval', 'queueMicrotask', 'module', 'Buffer', 'WebAssembly', 'SharedArrayBuffer', 'Intl'].filter((n) => g[n] !== undefined).length };") },
  { name: 'escape', path: 'escape.ts', source: source("const F = (row as unknown as { constructor: { constructor: (s: string) => () => unknown } }).constructor.constructor;\nconst g = F('return this')() as Record<string, unknown>;\nreturn { y: g.process === undefined && g.require === undefined ? 0 : 1 };") },
  { name: 'wrong_type', path: 'wrong_type.ts', source: source("return { y: 'text' as unknown as number };") },
  { name: 'nan', path: 'nan.ts', source: source('return { y: 0 / 0 };') },
  { name: 'extra', path: 'extra.ts', source: source('return { y: 1, z: 2 } as { y: number };') },
  {
    name: 'every_type',
    path: 'every_type.ts',
    source: `type V = { x: number | null; s: string | null; l: (number | null)[] | null; j: unknown; flag: boolean | null };
export default function (row: { v: V; asOf: number }) {
  const { x, s, l, j, flag } = row.v;
  return { f: x, i: x === null ? null : Math.trunc(x), b: flag, t: row.asOf, s, l, j, neg: x === null ? null : -0 };
}`,
  },
  {
    name: 'read_every_type',
    path: 'read_every_type.ts',
    source: `export default function (row: { typed: { f: number | null; b: boolean | null; neg: number | null } }) {
  return { y: row.typed.f === null ? null : row.typed.f * 2, kind: typeof row.typed.b + ':' + String(row.typed.b), neg: row.typed.neg === null ? 'null' : Object.is(row.typed.neg, -0) ? '-0' : '0' };
}`,
  },
];

/** Rows from `xs`, enough of them to travel packed (a Float64Array each way) rather than as JSON. */
const packed = (xs: (number | null)[]) => Array.from({ length: 80 }, (_, i) => xs[i % xs.length]!);

const plan = (transform: string): SandboxPlan => ({ id: transform, steps: [{ view: 'out', transform, inputs: ['v'], request: false, outputs: [['y', 'Float', false, true]] }] });
const batch = (xs: (number | null)[]): BatchInput => ({ n: xs.length, asOf: xs.map(() => 0), request: {}, views: { v: { x: xs } } });

describe('TransformPool: the sandbox', () => {
  let pool: TransformPool;
  before(async () => {
    pool = await TransformPool.start(TRANSFORMS, { size: 2, memoryMb: 32, timeoutMs: 200 });
  });
  after(() => pool.close());

  it('computes a batch in one call, row by row, nulls passing through', async () => {
    const out = await pool.run(plan('double'), batch([1, null, 2.5]));
    assert.deepEqual(out, { values: { out: { y: [2, null, 5] } }, errors: [] });
  });

  it('fails only the row that throws, with the message', async () => {
    const out = await pool.run(plan('throw_on_2'), batch([1, 2, 3]));
    assert.deepEqual(out.values.out!.y, [1, null, 3]);
    assert.deepEqual(out.errors, [{ step: 0, row: 1, code: 'TRANSFORM_FAILED', message: 'threw bad input two' }]);
  });

  it('stops an infinite loop at the CPU limit, names the row, and computes the others', async () => {
    const out = await pool.run(plan('loop_on_3'), batch([1, 3, 4]));
    assert.deepEqual(out.values.out!.y, [1, null, 4]);
    assert.equal(out.errors.length, 1);
    assert.equal(out.errors[0]!.code, 'TRANSFORM_TIMEOUT');
    assert.equal(out.errors[0]!.row, 1);
    assert.deepEqual((await pool.run(plan('double'), batch([1]))).values.out!.y, [2], 'the pool still serves');
  });

  it('fails a killed cell alone: other views of the same row keep their values, views reading it are skipped', async () => {
    const steps: SandboxPlan = {
      id: 'three-steps',
      steps: [
        { view: 'a', transform: 'double', inputs: ['v'], request: false, outputs: [['y', 'Float', false, true]] },
        { view: 'b', transform: 'loop_on_3', inputs: ['v'], request: false, outputs: [['y', 'Float', false, true]] },
        { view: 'c', transform: 'b_plus_one', inputs: ['b'], request: false, outputs: [['y', 'Float', false, true]] },
      ],
    };
    const out = await pool.run(steps, batch([1, 3]));
    assert.deepEqual(out.values.a!.y, [2, 6], 'the independent view of the killed row is computed');
    assert.deepEqual(out.values.b!.y, [1, null]);
    assert.deepEqual(out.values.c!.y, [2, null], 'the view reading the killed cell is not computed for that row');
    assert.deepEqual(out.errors.map((e) => [e.step, e.row, e.code]), [[1, 1, 'TRANSFORM_TIMEOUT']], 'one error, where it happened: dependents are failed by the caller');
  });

  it('kills a runaway allocation at the memory limit, names the row, and computes the others', async () => {
    const out = await pool.run(plan('oom_on_5'), batch([5, 6]));
    assert.deepEqual(out.values.out!.y, [null, 6]);
    assert.deepEqual(out.errors.map((e) => [e.row, e.code]), [[0, 'TRANSFORM_OOM']]);
    assert.match(out.errors[0]!.message, /ran out of its 32 MB memory limit/);
    assert.deepEqual((await pool.run(plan('double'), batch([4]))).values.out!.y, [8], 'the pool still serves');
  });

  it('refuses prototype pollution and global state: built-ins and the global object are frozen', async () => {
    const polluted = await pool.run(plan('pollute'), batch([1]));
    assert.equal(polluted.errors[0]?.code, 'TRANSFORM_FAILED');
    assert.match(polluted.errors[0]!.message, /read.only|not extensible|Cannot add property/);
    for (let i = 0; i < 4; i++) assert.deepEqual((await pool.run(plan('read_pollution'), batch([1]))).values.out!.y, [0]);
    const state = await pool.run(plan('leave_state'), batch([1]));
    assert.equal(state.errors[0]?.code, 'TRANSFORM_FAILED');
  });

  it('refuses at start-up a transform whose module code replaces a global: the global object is frozen before any transform loads', async () => {
    // It would swap what the runtime or another transform calls.
    const swap = `const g = globalThis as Record<string, unknown>;\ng.JSON = { parse: () => ({}), stringify: () => '{"values":[],"errors":[]}' };\n${source('return { y: 1 };')}`;
    await assert.rejects(
      TransformPool.start([{ name: 'swap_builtins', path: 'transforms/swap_builtins.ts', source: swap }, TRANSFORMS[0]!], { size: 1, memoryMb: 32, timeoutMs: 200 }),
      /transforms\/swap_builtins\.ts: .*(read.only|not extensible)/,
    );
  });

  it('has no clock and no randomness', async () => {
    for (const name of ['clock', 'new_date', 'random']) {
      const out = await pool.run(plan(name), batch([1]));
      assert.equal(out.errors[0]?.code, 'TRANSFORM_FAILED', name);
      assert.match(out.errors[0]!.message, /not available in a transform.*row\.asOf/, name);
    }
  });

  it('offers no host objects: no process, require, network, timers or modules, even through Function', async () => {
    assert.deepEqual((await pool.run(plan('globals'), batch([1]))).values.out!.y, [0]);
    assert.deepEqual((await pool.run(plan('escape'), batch([1]))).values.out!.y, [0]);
  });

  it('checks outputs against the declared types', async () => {
    for (const [name, pattern] of [['wrong_type', /y must be Float, got string/], ['nan', /y must be Float, got NaN \(return null instead\)/], ['extra', /returned z, which the view does not declare/]] as const) {
      const out = await pool.run(plan(name), batch([1]));
      assert.equal(out.errors[0]?.code, 'TRANSFORM_FAILED', name);
      assert.match(out.errors[0]!.message, pattern, name);
    }
  });

  it('gives the same answers whether a batch travels packed or as JSON: every type, nulls, -0, NaN, chained steps', async () => {
    const typed: SandboxPlan = {
      id: 'every-type',
      steps: [
        {
          view: 'typed',
          transform: 'every_type',
          inputs: ['v'],
          request: false,
          outputs: [['f', 'Float', false, true], ['i', 'Int', false, true], ['b', 'Boolean', false, true], ['t', 'DateTime', false, false], ['s', 'String', false, true], ['l', 'Float', true, true], ['j', 'JSON', false, true], ['neg', 'Float', false, true]],
        },
        { view: 'read', transform: 'read_every_type', inputs: ['typed'], request: false, outputs: [['y', 'Float', false, true], ['kind', 'String', false, false], ['neg', 'String', false, false]] },
      ],
    };
    const xs = [1.5, -0, null, NaN, Infinity, -2.75, 1e300, 2 ** 31, 7];
    const n = 90;
    const v = {
      x: Array.from({ length: n }, (_, r) => xs[r % xs.length]!),
      s: Array.from({ length: n }, (_, r) => [null, '', 'é', '\ud800', 'text'][r % 5]!),
      l: Array.from({ length: n }, (_, r) => (r % 4 === 0 ? null : [r, null, r / 3])),
      j: Array.from({ length: n }, (_, r) => (r % 3 === 0 ? null : { a: [r, { b: null }], s: String(r) })),
      flag: Array.from({ length: n }, (_, r) => (r % 3 === 0 ? null : r % 3 === 1)),
    };
    const asOf = Array.from({ length: n }, (_, r) => 1_780_000_000_000 + r);
    const whole = await pool.run(typed, { n, asOf, request: {}, views: { v } });
    // The same rows one at a time: each batch small enough to travel as JSON.
    for (let r = 0; r < n; r++) {
      const one = await pool.run(typed, { n: 1, asOf: [asOf[r]!], request: {}, views: { v: Object.fromEntries(Object.entries(v).map(([k, col]) => [k, [col[r]]])) } });
      for (const [view, cols] of Object.entries(one.values)) {
        // Strict: Object.is for numbers, so 0 and -0 differ.
        for (const [name, col] of Object.entries(cols)) assert.deepEqual(whole.values[view]![name]![r], col[0], `${view}.${name} row ${r}`);
      }
      assert.deepEqual(whole.errors.filter((e) => e.row === r).map((e) => ({ ...e, row: 0 })), one.errors, `errors of row ${r}`);
    }
    // What JSON would have made of the inputs and outputs: -0 is 0, NaN and Infinity are null.
    assert.deepEqual(whole.values.typed!.f!.slice(0, 5), [1.5, 0, null, null, null]);
    assert.ok(Object.is(whole.values.typed!.f![1], 0));
    assert.deepEqual(new Set(whole.values.typed!.neg), new Set([0, null]));
    assert.deepEqual(whole.values.typed!.b!.slice(0, 3), [null, true, false]);
    const failed = new Set(whole.errors.map((e) => e.row));
    assert.deepEqual(whole.values.typed!.t, asOf.map((t, r) => (failed.has(r) ? null : t)));
    assert.deepEqual(whole.values.typed!.s!.slice(0, 5), [null, '', 'é', '\ud800', 'text']);
    assert.deepEqual(whole.values.typed!.j![1], { a: [1, { b: null }], s: '1' });
    // A later step reads earlier outputs as the transform returned them: booleans, and -0.
    assert.deepEqual(whole.values.read!.kind!.slice(0, 3), ['object:null', 'boolean:true', 'boolean:false']);
    assert.equal(whole.values.read!.neg![0], '-0');
    // Rows whose x does not fit an Int fail alone, with the same message either way.
    assert.deepEqual(new Set(whole.errors.map((e) => e.message)), new Set(['i must be Int, got number']));
    assert.deepEqual([...failed], asOf.flatMap((_, r) => ([1e300, 2 ** 31].includes(xs[r % xs.length]!) ? [r] : [])));
  });

  it('stops an infinite loop in a packed batch at the CPU limit, names the row, and computes the others', async () => {
    const xs = packed([1, 4, 6, 7]);
    xs[57] = 3;
    const out = await pool.run(plan('loop_on_3'), batch(xs));
    assert.deepEqual(out.errors.map((e) => [e.step, e.row, e.code]), [[0, 57, 'TRANSFORM_TIMEOUT']]);
    assert.deepEqual(out.values.out!.y, xs.map((x, r) => (r === 57 ? null : x)));
  });

  it('refuses at start-up a transform importing a module', async () => {
    await assert.rejects(
      TransformPool.start([{ name: 'imports', path: 'transforms/imports.ts', source: "import fs from 'node:fs';\nexport default function () { return { y: fs ? 1 : 0 }; }" }], { size: 1, memoryMb: 32, timeoutMs: 200 }),
      /transforms\/imports\.ts: line 1: a transform can import types only/,
    );
  });
});
