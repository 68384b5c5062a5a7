/**
 * The sandbox's runtime against transforms that attack it rather than the host: outputs that change or
 * break after they were checked, thrown values that break the error report, reaching the runtime's API,
 * built-ins left open as shared state, and one transform's module code tampering with another's.
 * (Escapes to the host's environment, files and network: test/e2e/sandbox-escapes.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TransformPool } from '../../../src/transforms/pool.ts';
import type { BatchInput, OutputSpec, SandboxPlan, SandboxTransform } from '../../../src/transforms/pool.ts';

const source = (body: string, moduleCode = '') => `${moduleCode}\nexport default function (row: { v: { x: number | null } }): Record<string, unknown> {\nvoid row;\n${body}\n}`;

const TRANSFORMS: Omit<SandboxTransform, 'path'>[] = [
  { name: 'circular', source: source('const a: Record<string, unknown> = {};\na.self = a;\nreturn { j: a };') },
  { name: 'to_json_list', source: source("const l = [1, 2] as unknown as { toJSON: () => string };\nl.toJSON = () => 'not a list';\nreturn { l };") },
  { name: 'iterator_list', source: source("const l = [1, 2, 'three'];\nObject.defineProperty(l, Symbol.iterator, { value: function* () { yield 1; } });\nreturn { l };") },
  { name: 'to_json_undefined', source: source('return { j: { toJSON: () => undefined } };') },
  { name: 'flaky_proxy', source: source("let reads = 0;\nreturn { j: new Proxy({}, { ownKeys: () => { if (reads++ > 0) throw new Error('read twice'); return []; } }) };") },
  { name: 'getter_twice', source: source("let reads = 0;\nreturn { get j() { return reads++ === 0 ? 1 : { late: 'swap' }; } };") },
  { name: 'throw_getter', source: source("throw { get message(): string { throw new Error('no message for you'); } };") },
  { name: 'throw_primitive', source: source('throw 42;') },
  { name: 'throw_long', source: source("throw new Error('x'.repeat(100000));") },
  { name: 'list_out', source: source('return { l: [1, 2] };') },
  { name: 'mutate_input', source: "export default function (row: { first: { l: number[] } }) {\n(row.first.l as unknown[]).push('sneaked');\nreturn { l: row.first.l };\n}" },
  { name: 'api', source: source("const g = globalThis as Record<string, unknown>;\nreturn { j: Object.getOwnPropertyNames(g).filter((n) => n.startsWith('__')) };") },
  { name: 'victim', source: source("return { j: 'victim' };") },
  {
    name: 'hijacker',
    source: source(
      "return { j: 'hijacker' };",
      "// Module code: tries to register itself in another transform's place through the runtime's API.\nconst api = (globalThis as Record<string, { register?: (n: string, f: () => unknown) => void }>).__skewless;\nif (api !== undefined) api.register!('victim', () => ({ j: 'hijacked' }));",
    ),
  },
  { name: 'open_builtins', source: source("const open = ['Iterator', 'AggregateError', 'DisposableStack', 'Float16Array', 'console', 'Proxy'].filter((n) => { const v = (globalThis as Record<string, object | undefined>)[n]; return v !== undefined && !Object.isFrozen(v); });\nreturn { j: open };") },
  { name: 'write_iterator', source: source("(Iterator as unknown as Record<string, unknown>).shared = 'state';\nreturn { j: 1 };") },
  { name: 'regexp_set', source: source("/secret-(\\w+)/.exec('secret-' + String(row.v.x));\nreturn { j: 1 };") },
  { name: 'regexp_get', source: source("const r = RegExp as unknown as Record<string, unknown>;\nreturn { j: [r.$1, r.lastMatch, r.input] };") },
  { name: 'oom_always', source: source('const hoard: number[][] = [];\nfor (;;) hoard.push(new Array(1e6).fill(1));') },
];

const one = (transform: string, outputs: OutputSpec[]): SandboxPlan => ({ id: transform, steps: [{ view: 'out', transform, inputs: ['v'], request: false, outputs }] });
const J: OutputSpec[] = [['j', 'JSON', false, true]];
const L: OutputSpec[] = [['l', 'Float', true, true]];
const batch = (n = 1): BatchInput => ({ n, asOf: new Array<number>(n).fill(0), request: {}, views: { v: { x: Array.from({ length: n }, (_, i) => i) } } });

describe('the sandbox runtime against transforms that attack it', () => {
  let pool: TransformPool;
  let replaced = 0;
  before(async () => {
    pool = await TransformPool.start(TRANSFORMS.map((t) => ({ ...t, path: `transforms/${t.name}.ts` })), {
      size: 1,
      memoryMb: 32,
      timeoutMs: 500,
      observer: { batch: () => {}, isolateReplaced: () => void replaced++ },
    });
  });
  after(() => pool.close());

  const failure = async (plan: SandboxPlan) => {
    const out = await pool.run(plan, batch());
    assert.equal(out.errors.length, 1, JSON.stringify(out));
    assert.equal(out.errors[0]!.code, 'TRANSFORM_FAILED');
    return out.errors[0]!.message;
  };

  it('fails the row, not the batch, for an output that cannot travel as JSON', async () => {
    assert.match(await failure(one('circular', J)), /^j is not a JSON value: Converting circular structure/);
    assert.match(await failure(one('to_json_undefined', J)), /^j must be JSON, got undefined/);
    // A Proxy is read once, when it is checked and copied: the second read, which would throw, never comes.
    assert.deepEqual(await pool.run(one('flaky_proxy', J), batch()), { values: { out: { j: [{}] } }, errors: [] });
  });

  it('checks what will leave: a list that serialises as something else fails, whatever its iterator says', async () => {
    assert.match(await failure(one('to_json_list', L)), /^l must be a list of Float, got string/);
    assert.match(await failure(one('iterator_list', L)), /^l must hold Float values, got string/);
    assert.deepEqual((await pool.run(one('getter_twice', J), batch())).values.out!.j, [1], 'an output is read once: what was checked is what is sent');
  });

  it('keeps a checked output as checked: a later step cannot change it', async () => {
    const plan: SandboxPlan = {
      id: 'chain',
      steps: [
        { view: 'first', transform: 'list_out', inputs: ['v'], request: false, outputs: L },
        { view: 'second', transform: 'mutate_input', inputs: ['first'], request: false, outputs: L },
      ],
    };
    const out = await pool.run(plan, batch());
    assert.deepEqual(out.values.first!.l, [[1, 2]]);
    assert.equal(out.errors[0]?.step, 1);
    assert.match(out.errors[0]!.message, /not extensible|read.only|Cannot add property/);
  });

  it('reports any thrown value as the row failure, in a bounded message', async () => {
    assert.equal(await failure(one('throw_getter', J)), 'threw a value whose message cannot be read');
    assert.equal(await failure(one('throw_primitive', J)), 'threw 42');
    const long = await failure(one('throw_long', J));
    assert.ok(long.length < 600 && long.endsWith('…'), `${long.length} characters`);
  });

  it("gives no transform the runtime's API: module code cannot register in another's place", async () => {
    assert.deepEqual((await pool.run(one('api', J), batch())).values.out!.j, [[]]);
    assert.deepEqual((await pool.run(one('victim', J), batch())).values.out!.j, ['victim']);
  });

  it('freezes every built-in, including those no fixed list names, and removes RegExp.$1 and friends', async () => {
    assert.deepEqual((await pool.run(one('open_builtins', J), batch())).values.out!.j, [[]]);
    assert.match(await failure(one('write_iterator', J)), /not extensible|read.only|Cannot add property/);
    await pool.run(one('regexp_set', J), batch(3));
    assert.deepEqual((await pool.run(one('regexp_get', J), batch())).values.out!.j, [[null, null, null]], 'the last match of an earlier call is not visible');
  });

  it('gives up on a batch after three rows ran out of memory, instead of one isolate per row', async () => {
    replaced = 0;
    const out = await pool.run(one('oom_always', J), batch(12));
    assert.deepEqual(out.errors.map((e) => [e.row, e.code]), Array.from({ length: 12 }, (_, r) => [r, 'TRANSFORM_OOM']));
    assert.match(out.errors[11]!.message, /abandoned after 3 such rows/);
    // The batch's kill, then one per row found before giving up.
    assert.equal(replaced, 4);
    assert.deepEqual((await pool.run(one('victim', J), batch())).values.out!.j, ['victim'], 'the pool still serves');
  });
});
