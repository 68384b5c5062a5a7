/**
 * Escape attempts from the transform sandbox, served by a gateway like any on-demand view
 * (test/fixtures/repos/hostile): the ways out that isolated-vm's security notes warn of (handing the host
 * functions, References or getters to run; the V8 stack-trace hook) and the common JavaScript sandbox
 * escapes (constructor chains to `process`, `Function('return this')`, `require`, `import()`, indirect
 * eval, prototype pollution, Proxy and Symbol hooks, shared memory and Atomics, WebAssembly, timers,
 * console, fetch, microtask floods, loops, huge allocations and strings, cycles, deep recursion).
 *
 * Each attempt is told where three canaries are: an environment variable of the gateway's process, a file,
 * and a TCP server that records every connection. Each must end in a coded error or a clean value, online
 * (one row, run on the gateway's thread) and historically (enough rows to run on the isolate's thread);
 * no answer may hold a canary, no connection may arrive, the host's own built-ins stay as they were, and
 * the gateway keeps serving a well-behaved view after every attempt.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { Stores } from '../../src/stores/open.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { FIXTURES, ROOT } from '../helpers/paths.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

const HOSTILE_DIRS = { schemaDir: path.join(FIXTURES, 'repos/hostile/schema'), transformsDir: path.join(FIXTURES, 'repos/hostile/transforms') };
const ONLINE = 'query ($f: [String!], $e: [JSON!]!, $r: [JSON!]) { onlineFeatures(features: $f, entities: $e, request: $r) { rows statuses errors { code message rows } } }';
const HISTORICAL = 'query ($f: [String!], $e: [JSON!]) { historicalFeatures(features: $f, entities: $e) { rows statuses errors { code message rows } } }';
/** Enough rows that the batch crosses to the isolate's own thread (pool.ts: SYNC_INPUT_CELLS). */
const HISTORICAL_ROWS = 600;
/** Names of host objects, timers, I/O and the runtime's own API that the isolate's global must not hold. */
const HOST_NAMES = ['process', 'require', 'module', 'exports', 'global', 'Buffer', 'fetch', 'XMLHttpRequest', 'WebSocket', 'Worker', 'setTimeout', 'setInterval',
  'setImmediate', 'queueMicrotask', 'console', 'ivm', '__skewless', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'Intl'];

type Code = 'TRANSFORM_FAILED' | 'TRANSFORM_TIMEOUT' | 'TRANSFORM_OOM';
type Outcome =
  /** Every row fails with one of `codes`; a TRANSFORM_FAILED message matches `message`. */
  | { readonly codes: readonly Code[]; readonly message?: RegExp }
  /** A value, which `clean` judges (the canaries are checked for every attempt anyway). */
  | { readonly clean: (leak: unknown) => void };

const failed = (message: RegExp): Outcome => ({ codes: ['TRANSFORM_FAILED'], message });
const ATTEMPTS: Record<string, Outcome> = {
  function_constructor: failed(/threw process is not defined/),
  global_this: { clean: (names) => assert.deepEqual((names as string[]).filter((n) => HOST_NAMES.includes(n)), []) },
  require_module: failed(/threw require is not defined/),
  dynamic_import: { clean: (leak) => assert.match(String(leak), /^Error: Not supported/) },
  module_scope: { clean: (leak) => assert.match(String(leak), /^refused: TypeError: Cannot read properties of undefined \(reading 'env'\)/) },
  prototype_pollution: failed(/threw Cannot add property polluted, object is not extensible/),
  return_function: failed(/leak must be JSON, got function/),
  return_getter: failed(/threw Cannot read properties of undefined \(reading 'env'\)/),
  prepare_stack_trace: failed(/threw Cannot add property prepareStackTrace, object is not extensible/),
  stack_trace: { clean: (stack) => assert.ok(!String(stack).includes(ROOT) && !/node:|\.ts\b/.test(String(stack)), String(stack)) },
  proxy_output: failed(/leak is not a JSON value: Cannot read properties of undefined \(reading 'env'\)/),
  symbol_tricks: { clean: (leak) => assert.deepEqual(leak, {}) },
  shared_memory: failed(/threw SharedArrayBuffer is not defined/),
  atomics: failed(/threw SharedArrayBuffer is not defined|threw Atomics is not defined/),
  webassembly: failed(/threw WebAssembly is not defined/),
  timers: failed(/threw setTimeout is not defined/),
  console_log: failed(/threw console is not defined/),
  network: failed(/threw fetch is not defined/),
  eval_escape: failed(/threw Cannot read properties of undefined \(reading 'env'\)/),
  // A promise chain allocates as it spins: the CPU limit or the memory limit stops it, whichever comes first.
  microtask_flood: { codes: ['TRANSFORM_TIMEOUT', 'TRANSFORM_OOM'] },
  infinite_loop: { codes: ['TRANSFORM_TIMEOUT'] },
  huge_allocation: { codes: ['TRANSFORM_OOM'] },
  huge_string: failed(/leak is 134217728 characters long; an output value may have at most 1000000/),
  huge_string_inside: { codes: ['TRANSFORM_OOM'] },
  recursive_output: failed(/leak is not a JSON value: Converting circular structure/),
  // Each row overflows its stack and fails; hundreds of them in one batch may pass the CPU limit first.
  stack_overflow: { codes: ['TRANSFORM_FAILED', 'TRANSFORM_TIMEOUT'], message: /threw Maximum call stack size exceeded/ },
  async_function: failed(/did not return leak/),
};

interface Frame {
  rows: unknown[][];
  statuses: (string | null)[][];
  errors: { code: string; message: string; rows: number[] }[];
}

describe('transform sandbox escapes: env, files and network stay out of reach', () => {
  const envName = `SKEWLESS_CANARY_${randomUUID().replaceAll('-', '_')}`;
  const envSecret = `env-secret-${randomUUID()}`;
  const fileSecret = `file-secret-${randomUUID()}`;
  let dir: string;
  let file: string;
  let server: Server;
  let port: number;
  let connections = 0;
  let stores: Stores;
  let gateway: TestGateway;
  const answers: string[] = [];

  const query = async (q: string, variables: Record<string, unknown>): Promise<Frame> => {
    const { body } = await postGraphQL(gateway.base, q, variables);
    answers.push(JSON.stringify(body));
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return (body.data!.onlineFeatures ?? body.data!.historicalFeatures) as Frame;
  };
  const target = () => ({ env: envName, file, port });

  before(async () => {
    process.env[envName] = envSecret;
    dir = await mkdtemp(path.join(tmpdir(), 'skewless-canary-'));
    file = path.join(dir, 'canary.txt');
    await writeFile(file, fileSecret);
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    gateway = await startTestGateway(await loadFixtureRegistry(HOSTILE_DIRS), stores, {}, { size: 2, memoryMb: 32, timeoutMs: 250 });
  });
  after(async () => {
    delete process.env[envName];
    await gateway.close();
    await Promise.all([stores.online.close(), stores.offline.close()]);
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every hostile view of the fixture repository here, and no other', async () => {
    const registry = await loadFixtureRegistry(HOSTILE_DIRS);
    const views = registry.views.filter((v) => v.kind === 'onDemand' && v.name !== 'benign').map((v) => v.name);
    assert.deepEqual(views.sort(), Object.keys(ATTEMPTS).sort());
  });

  for (const [view, outcome] of Object.entries(ATTEMPTS)) {
    it(`contains ${view}, online and historically`, async () => {
      const online = await query(ONLINE, { f: [`${view}:leak`], e: [{ user_id: 'u1' }], r: [target()] });
      const rows = Array.from({ length: HISTORICAL_ROWS }, (_, i) => ({ user_id: `u${i % 7}`, event_timestamp: 1_780_000_000_000 + i, ...target() }));
      const historical = await query(HISTORICAL, { f: [`${view}:leak`], e: rows });
      for (const [path, frame, n, leakAt] of [['online', online, 1, 1], ['historical', historical, HISTORICAL_ROWS, 5]] as const) {
        if ('clean' in outcome) {
          assert.deepEqual(frame.errors, [], `${path}: ${JSON.stringify(frame.errors)}`);
          assert.ok(frame.statuses.every((s) => s[leakAt] === 'PRESENT'), path);
          outcome.clean(frame.rows[0]![leakAt]);
        } else {
          // Every row fails, once, with a listed code (a batch may end some rows one way and the rest another).
          assert.deepEqual(frame.errors.flatMap((e) => e.rows).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), path);
          for (const error of frame.errors) {
            assert.ok(outcome.codes.includes(error.code as Code), `${path}: ${error.code}`);
            if (error.code === 'TRANSFORM_FAILED') assert.match(error.message, outcome.message!, path);
          }
          assert.ok(frame.statuses.every((s) => s[leakAt] === 'ERROR'), path);
        }
      }
      // Still serving: a well-behaved view computes, on both paths.
      const benign = await query(ONLINE, { f: ['benign:echo'], e: [{ user_id: 'u1' }], r: [target()] });
      assert.deepEqual(benign.rows, [['u1', port]]);
    });
  }

  it('let no canary out: no answer holds one, no connection arrived, the file is unchanged', async () => {
    assert.equal(answers.length, Object.keys(ATTEMPTS).length * 3, 'every attempt was asked online and historically, and a benign view after it');
    for (const answer of answers) {
      assert.ok(!answer.includes(envSecret), 'the environment variable leaked');
      assert.ok(!answer.includes(fileSecret), 'the file leaked');
    }
    assert.equal(connections, 0);
    assert.equal(await readFile(file, 'utf8'), fileSecret);
    assert.equal(process.env[envName], envSecret);
  });

  it("left the host's own built-ins as they were", () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Array.prototype as unknown as Record<string, unknown>).toJSON, undefined);
    assert.equal(JSON.stringify([1, { a: 2 }]), '[1,{"a":2}]');
  });
});
