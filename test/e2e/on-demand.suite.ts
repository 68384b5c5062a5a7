/**
 * On-demand views through the gateway, on given stores: computed online and historically by the same
 * sandboxed transforms (test/fixtures/repos/serving/transforms), compared with values worked out here
 * from what was pushed, and with each other at the same instant, bit for bit.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Stores } from '../../src/stores/open.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { countingStore, startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';
import { random } from '../helpers/random.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

interface Frame {
  columns: string[];
  rows: unknown[][];
  statuses: (string | null)[][];
  errors: { view: string; code: string; message: string; rows: number[] }[];
  asOf: string;
}

const ONLINE = `query ($f: [String!], $e: [JSON!]!, $r: [JSON!]) { onlineFeatures(features: $f, entities: $e, request: $r) { columns rows statuses errors { view code message rows } asOf transforms { view transform sha256 } } }`;
const HISTORICAL = `query ($f: [String!], $e: [JSON!]) { historicalFeatures(features: $f, entities: $e) { columns rows statuses errors { view code message rows } asOf } }`;

export function onDemandSuite(name: string, openStores: () => Promise<Stores>): void {
  describe(`on-demand views: ${name}`, () => {
    let stores: Stores;
    let gateway: TestGateway;
    let counted: ReturnType<typeof countingStore>;
    /** Rows of each sandbox call, by plan: the batching witness. */
    const sandboxCalls: { plan: string; rows: number }[] = [];
    const call = async (query: string, variables: Record<string, unknown>) => (await postGraphQL(gateway.base, query, variables)).body;
    const online = async (features: string[], entities: unknown[], request?: unknown[]) => {
      const body = await call(ONLINE, { f: features, e: entities, r: request });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      return body.data!.onlineFeatures as Frame;
    };
    const historical = async (features: string[], entities: unknown[]) => {
      const body = await call(HISTORICAL, { f: features, e: entities });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      return body.data!.historicalFeatures as Frame;
    };
    const push = async (view: string, rows: unknown[]) => {
      const body = await call('mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', { v: view, r: rows });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    };
    const col = (frame: Frame, ref: string) => frame.rows.map((r) => r[frame.columns.indexOf(ref)]);

    before(async () => {
      stores = await openStores();
      counted = countingStore(stores.online);
      gateway = await startTestGateway(await loadFixtureRegistry(), { ...stores, online: counted }, {}, { timeoutMs: 300, memoryMb: 32 });
      const pool = gateway.transforms!;
      const run = pool.run.bind(pool);
      pool.run = (plan, batch) => {
        sandboxCalls.push({ plan: plan.id.replace(/@\w+/g, ''), rows: batch.n });
        return run(plan, batch);
      };
    });
    after(async () => {
      await gateway.close();
      await stores.online.close();
      await stores.offline.close();
    });

    it('computes a view from stored values and the request, and a view chained on it', async () => {
      const [u1, u2, u3] = [randomUUID(), randomUUID(), randomUUID()];
      const now = Date.now();
      await push('stats_a', [
        { user_id: u1, event_timestamp: now - MIN, a_int: 3, a_float: 2 },
        { user_id: u2, event_timestamp: now - 2 * HOUR, a_int: 5, a_float: 4 }, // past stats_a's 1h ttl
      ]);
      await push('stats_c', [{ user_id: u1, event_timestamp: now - 400 * 24 * HOUR, c_score: 0.5 }]);
      const frame = await online(['scored', 'scored_twice'], [{ user_id: u1 }, { user_id: u2 }, { user_id: u3, amount: 7 }], [{ amount: 10, note: 'n1' }, { amount: 1 }, {}]);
      assert.deepEqual(frame.errors, []);
      const asOf = Date.parse(frame.asOf);
      assert.deepEqual(col(frame, 'scored:ratio'), [5, null, null]);
      assert.deepEqual(col(frame, 'scored:combined'), [3 * 0.5 + 10, null, null]);
      assert.deepEqual(col(frame, 'scored:has_a'), [true, false, false], 'an expired input arrives as null');
      assert.deepEqual(col(frame, 'scored:as_of'), [asOf, asOf, asOf].map((t) => new Date(t).toISOString()), 'T is the request instant');
      assert.deepEqual(col(frame, 'scored:note'), ['n1', null, null]);
      assert.deepEqual(col(frame, 'scored_twice:ratio2'), [10, null, null]);
      const registry = await loadFixtureRegistry();
      assert.deepEqual(
        (frame as Frame & { transforms: unknown }).transforms,
        ['scored', 'scored_twice'].map((v) => {
          const view = registry.view(v) as { name: string; transform: { name: string; sha256: string } };
          return { view: view.name, transform: view.transform.name, sha256: view.transform.sha256 };
        }),
        'the code behind each on-demand column, by content hash',
      );
      assert.ok(frame.statuses.every((s) => s.slice(1).every((x) => x === 'PRESENT')));

      // One request object for every row.
      const shared = await online(['scored:ratio'], [{ user_id: u1 }, { user_id: u1 }], [{ amount: 4 }]);
      assert.deepEqual(col(shared, 'scored:ratio'), [2, 2]);
    });

    it('serves on-demand views as typed fields: one store round trip and one sandbox call per view for the whole query', async () => {
      const [u1, u2, u3] = [randomUUID(), randomUUID(), randomUUID()];
      const now = Date.now();
      await push('stats_a', [
        { user_id: u1, event_timestamp: now - MIN, a_int: 3, a_float: 2 },
        { user_id: u2, event_timestamp: now - MIN, a_int: -4, a_float: 0.3 },
      ]);
      await push('stats_c', [{ user_id: u1, event_timestamp: now - MIN, c_score: 0.25 }]);
      counted.calls.length = 0;
      sandboxCalls.length = 0;
      const body = await call(
        `query ($u: [ID!]!, $one: ID!) {
          users(user_id: $u) {
            user_id
            stats_a { a_int }
            scored(request: {amount: 10, note: "n"}) { ratio combined has_a note _meta { status eventTimestamp ageMs } }
            scored_twice(request: {amount: 10}) { ratio2 }
          }
          other: user(user_id: $one) { scored(request: {amount: 3}) { ratio combined } }
        }`,
        { u: [u1, u2, u3], one: u1 },
      );
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      assert.equal(counted.calls.length, 1, 'stored views and on-demand inputs are read in one store call');
      assert.deepEqual(
        sandboxCalls.map((c) => `${c.plan}:${c.rows}`).sort(),
        ['scored,scored_twice:3', 'scored:4'],
        'every row of a view in one sandbox call: scored for three users and `other`, scored_twice (with its input scored) for three',
      );
      const data = body.data as { users: Record<string, any>[]; other: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
      // The same rows through onlineFeatures: the typed fields must agree value for value.
      const frame = await online(['scored:ratio', 'scored:combined', 'scored:has_a', 'scored:note', 'scored_twice:ratio2'], [u1, u2, u3].map((user_id) => ({ user_id })), [{ amount: 10, note: 'n' }]);
      const typed = data.users.map((u) => [u.user_id, u.scored.ratio, u.scored.combined, u.scored.has_a, u.scored.note, u.scored_twice.ratio2]);
      assert.deepEqual(typed, frame.rows);
      assert.deepEqual(typed[0], [u1, 5, 3 * 0.25 + 10, true, 'n', 10]);
      assert.deepEqual(data.users[0]!.scored._meta, { status: 'PRESENT', eventTimestamp: null, ageMs: null });
      assert.deepEqual(data.other.scored, { ratio: 1.5, combined: 3 * 0.25 + 3 });
    });

    it('fails only the typed field whose transform failed, with its code', async () => {
      const u = randomUUID();
      const body = await call(`query ($u: ID!) { bad: user(user_id: $u) { fragile(request: {amount: 13}) { echoed } } good: user(user_id: $u) { fragile(request: {amount: 12}) { echoed } } }`, { u });
      const data = body.data as Record<string, { fragile: unknown }>;
      assert.equal(data.bad!.fragile, null);
      assert.deepEqual(data.good!.fragile, { echoed: 12 });
      assert.equal(body.errors?.length, 1);
      assert.equal(body.errors![0]!.extensions?.code, 'TRANSFORM_FAILED');
      assert.deepEqual(body.errors![0]!.path, ['bad', 'fragile']);
      const missing = await call(`query ($u: ID!) { user(user_id: $u) { scored { ratio } } }`, { u });
      assert.match(missing.errors?.[0]?.message ?? '', /Argument "User\.scored\(request:\)" of type "ScoreRequest!" is required/);
    });

    it('refuses a missing or mistyped request field with the same error on both paths, before any work', async () => {
      const u = randomUUID();
      const onlineBody = await call(ONLINE, { f: ['scored:ratio'], e: [{ user_id: u }, { user_id: u }], r: [{ amount: 1 }, { amount: 'ten' }] });
      const t = new Date().toISOString();
      const historicalBody = await call(HISTORICAL, { f: ['scored:ratio'], e: [{ user_id: u, event_timestamp: t, amount: 1 }, { user_id: u, event_timestamp: t, amount: 'ten' }] });
      for (const body of [onlineBody, historicalBody]) {
        assert.equal(body.errors?.[0]?.extensions?.code, 'INVALID_REQUEST');
        assert.match(body.errors![0]!.message, /row 1: request field amount is "ten", not Float! \(ScoreRequest\.amount: Float!\)/);
      }
      const missing = await call(ONLINE, { f: ['scored:ratio'], e: [{ user_id: u }] });
      assert.match(missing.errors?.[0]?.message ?? '', /row 0: request field amount is missing/);
    });

    it('contains a transform that throws, loops or exhausts memory to its row, and keeps serving', async () => {
      const u = randomUUID();
      const entities = [12, 13, 666, 999, 14].map((amount) => ({ user_id: u, amount }));
      const frame = await online(['fragile:echoed'], entities);
      assert.deepEqual(col(frame, 'fragile:echoed'), [12, null, null, null, 14]);
      assert.deepEqual(frame.statuses.map((s) => s[1]), ['PRESENT', 'ERROR', 'ERROR', 'ERROR', 'PRESENT']);
      const byCode = Object.fromEntries(frame.errors.map((e) => [e.code, e]));
      assert.deepEqual(byCode.TRANSFORM_FAILED?.rows, [1]);
      assert.match(byCode.TRANSFORM_FAILED!.message, /transform fragile \(view fragile\) failed on row 1: threw unlucky amount/);
      assert.deepEqual(byCode.TRANSFORM_TIMEOUT?.rows, [2]);
      assert.deepEqual(byCode.TRANSFORM_OOM?.rows, [3]);
      const again = await online(['fragile:echoed'], [{ user_id: u, amount: 1 }]);
      assert.deepEqual(col(again, 'fragile:echoed'), [1]);
    });

    it('gives the same values online at T and historically at T, bit for bit (random draws)', async () => {
      const seed = Date.now() % 1_000_000;
      const draw = random(seed);
      const now = Date.now();
      const users = Array.from({ length: 300 }, () => randomUUID());
      const a: unknown[] = [];
      const c: unknown[] = [];
      for (const u of users) {
        // Up to three rows each, some past stats_a's 1h ttl, some values null, floats with long expansions.
        for (let k = Math.floor(draw() * 4); k > 0; k--) {
          a.push({ user_id: u, event_timestamp: now - Math.floor(draw() * 3 * HOUR) - 1000, a_int: draw() < 0.2 ? null : Math.floor(draw() * 1000) - 500, a_float: draw() < 0.2 ? null : (draw() - 0.5) * 1e3 / 7 });
        }
        if (draw() < 0.7) c.push({ user_id: u, event_timestamp: now - Math.floor(draw() * 1e9) - 1000, c_score: draw() < 0.1 ? null : draw() / 3 });
      }
      await push('stats_a', a);
      if (c.length > 0) await push('stats_c', c);
      const requests = users.map(() => ({ amount: (draw() - 0.3) * 1e4 / 3, note: draw() < 0.5 ? null : `n${Math.floor(draw() * 100)}` }));
      const features = ['scored', 'scored_twice'];
      const live = await online(features, users.map((user_id) => ({ user_id })), requests);
      const past = await historical(features, users.map((user_id, i) => ({ user_id, event_timestamp: live.asOf, ...requests[i] })));
      assert.deepEqual(live.errors, []);
      assert.deepEqual(past.errors, []);
      let compared = 0;
      for (const ref of live.columns.filter((c) => c.includes(':'))) {
        const l = col(live, ref);
        const h = col(past, ref);
        l.forEach((v, i) => {
          assert.ok(Object.is(v, h[i]), `seed ${seed}: ${ref} row ${i}: online ${String(v)} ≠ historical ${String(h[i])}`);
          compared++;
        });
      }
      assert.equal(compared, users.length * 6);

      // The typed fields at their own T, against historical at that T: a third path, the same values.
      const sample = users.slice(0, 40);
      const fields = 'ratio combined has_a as_of note';
      const query = `query (${sample.map((_, i) => `$a${i}: Float!, $n${i}: String`).join(', ')}) { ${sample
        .map((u, i) => `u${i}: user(user_id: "${u}") { scored(request: {amount: $a${i}, note: $n${i}}) { ${fields} } scored_twice(request: {amount: $a${i}, note: $n${i}}) { ratio2 } }`)
        .join(' ')} }`;
      const typedBody = await call(query, Object.fromEntries(sample.flatMap((_, i) => [[`a${i}`, requests[i]!.amount], [`n${i}`, requests[i]!.note]])));
      assert.equal(typedBody.errors, undefined, JSON.stringify(typedBody.errors));
      const typed = typedBody.data as Record<string, { scored: Record<string, unknown>; scored_twice: { ratio2: unknown } }>;
      const typedAsOf = typed.u0!.scored.as_of as string;
      const atTyped = await historical(features, sample.map((user_id, i) => ({ user_id, event_timestamp: typedAsOf, ...requests[i] })));
      sample.forEach((_, i) => {
        const got = typed[`u${i}`]!;
        for (const f of fields.split(' ')) assert.ok(Object.is(got.scored[f], col(atTyped, `scored:${f}`)[i]), `seed ${seed}: typed scored.${f} row ${i}`);
        assert.ok(Object.is(got.scored_twice.ratio2, col(atTyped, 'scored_twice:ratio2')[i]), `seed ${seed}: typed scored_twice.ratio2 row ${i}`);
      });
      assert.ok(col(live, 'scored:ratio').some((v) => v !== null) && col(live, 'scored:ratio').some((v) => v === null), `seed ${seed}: draws should give both values and nulls`);
    });

    it('exports on-demand columns as historicalFeatures answers them', async () => {
      const u = randomUUID();
      await push('stats_a', [{ user_id: u, event_timestamp: Date.now() - MIN, a_int: 2, a_float: 8 }]);
      const t = new Date().toISOString();
      const entities = [{ user_id: u, event_timestamp: t, amount: 2 }, { user_id: u, event_timestamp: t, amount: 13 }];
      const args = { features: ['scored:ratio', 'fragile:echoed'], entities };
      const frame = await historical(args.features, entities);
      assert.deepEqual(col(frame, 'scored:ratio'), [0.25, 1.625]);
      assert.deepEqual(col(frame, 'fragile:echoed'), [2, null]);
      assert.equal(frame.errors[0]?.code, 'TRANSFORM_FAILED');
      const res = await fetch(`${gateway.base}/historical/export?format=jsonl`, { method: 'POST', body: JSON.stringify(args) });
      assert.equal(res.status, 200);
      const registry = await loadFixtureRegistry();
      const hash = (view: string) => (registry.view(view) as { transform: { sha256: string } }).transform.sha256;
      assert.equal(res.headers.get('x-skewless-transforms'), `scored=score@${hash('scored')},fragile=fragile@${hash('fragile')}`);
      const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines.map((l) => frame.columns.map((c) => l[c])), frame.rows);
    });
  });
}
