/**
 * Online serving end to end over HTTP, run against the embedded stores and against real Redis and
 * PostgreSQL: push then read, out-of-order and concurrent pushes, TTL, typed fields, frames, bad input.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Registry } from '../../src/registry/registry.ts';
import type { Stores } from '../../src/stores/open.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { countingStore, startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

export function servingSuite(name: string, openStores: () => Promise<Stores>): void {
  describe(`online serving over HTTP: ${name}`, () => {
    let registry: Registry;
    let stores: Stores;
    let counted: ReturnType<typeof countingStore>;
    let gateway: TestGateway;
    const post = (query: string, variables?: Record<string, unknown>) => postGraphQL(gateway.base, query, variables);
    const push = async (view: string, rows: unknown[]) => {
      const { body } = await post('mutation ($view: String!, $rows: [JSON!]!) { pushFeatures(view: $view, rows: $rows) { view rows onlineWritten onlineKept } }', { view, rows });
      return body;
    };
    const frame = async (features: string[], entities: unknown[]) => {
      const { body } = await post('query ($f: [String!], $e: [JSON!]!) { onlineFeatures(features: $f, entities: $e) { columns rows statuses eventTimestamps errors { view code rows } asOf } }', { f: features, e: entities });
      return body;
    };

    before(async () => {
      registry = await loadFixtureRegistry();
      const opened = await openStores();
      counted = countingStore(opened.online);
      stores = { online: counted, offline: opened.offline };
      gateway = await startTestGateway(registry, stores, { maxEntities: 200, maxPushRows: 500 });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
    });

    it('serves what was pushed, value for value, with status and event time', async () => {
      const [u1, u2] = [randomUUID(), randomUUID()];
      const t = Date.now() - 60_000;
      const pushed = await push('stats_a', [
        { user_id: u1, event_timestamp: iso(t), a_int: 42, a_float: 0.5 },
        { user_id: u2, event_timestamp: t - 1000, a_int: -1, a_float: null },
      ]);
      assert.deepEqual(pushed.data?.pushFeatures, { view: 'stats_a', rows: 2, onlineWritten: 2, onlineKept: 0 });
      const body = await frame(['stats_a:a_float', 'stats_a:a_int'], [{ user_id: u2 }, { user_id: u1 }, { user_id: u1 }, { user_id: 'nobody' }]);
      const f = body.data!.onlineFeatures;
      assert.deepEqual(f.columns, ['user_id', 'stats_a:a_float', 'stats_a:a_int']);
      assert.deepEqual(f.rows, [
        [u2, null, -1],
        [u1, 0.5, 42],
        [u1, 0.5, 42],
        ['nobody', null, null],
      ]);
      assert.deepEqual(f.statuses.map((s: string[]) => s[1]), ['PRESENT', 'PRESENT', 'PRESENT', 'NOT_FOUND']);
      assert.deepEqual(f.eventTimestamps.map((s: string[]) => s[2]), [iso(t - 1000), iso(t), iso(t), null]);
      assert.deepEqual(f.errors, []);
    });

    it('keeps the newest row online when an older one arrives later, and both in history', async () => {
      const u = randomUUID();
      const t = Date.now() - 10 * 60_000;
      await push('stats_a', [{ user_id: u, event_timestamp: t, a_int: 2 }]);
      const late = await push('stats_a', [{ user_id: u, event_timestamp: t - 60_000, a_int: 1 }]);
      assert.deepEqual(late.data?.pushFeatures, { view: 'stats_a', rows: 1, onlineWritten: 0, onlineKept: 1 });
      assert.deepEqual((await frame(['stats_a:a_int'], [{ user_id: u }])).data!.onlineFeatures.rows, [[u, 2]]);
      const history = await stores.offline.query<{ a_int: number }>('select a_int from skewless.history_stats_a where user_id = $1 order by event_timestamp', [u]);
      assert.deepEqual(history.map((r) => r.a_int), [1, 2]);
    });

    it('breaks equal event times by created_timestamp, within one push and across pushes', async () => {
      const u = randomUUID();
      const t = Date.now() - 60_000;
      await push('stats_a', [
        { user_id: u, event_timestamp: t, created_timestamp: t + 2, a_int: 2 },
        { user_id: u, event_timestamp: t, created_timestamp: t + 1, a_int: 1 },
      ]);
      await push('stats_a', [{ user_id: u, event_timestamp: t, created_timestamp: t, a_int: 0 }]);
      assert.deepEqual((await frame(['stats_a:a_int'], [{ user_id: u }])).data!.onlineFeatures.rows, [[u, 2]]);
    });

    it('lets no older value win between concurrent pushes', async () => {
      const users = Array.from({ length: 5 }, () => randomUUID());
      const t = Date.now() - HOUR / 2;
      const pushes = Array.from({ length: 20 }, (_, i) => push('stats_b', users.map((u) => ({ user_id: u, event_timestamp: t + ((i * 7) % 20) * 1000, b_count: (i * 7) % 20 }))));
      const results = await Promise.all(pushes);
      for (const r of results) assert.equal(r.errors, undefined);
      const rows = (await frame(['stats_b:b_count'], users.map((u) => ({ user_id: u })))).data!.onlineFeatures.rows;
      assert.deepEqual(rows, users.map((u) => [u, 19]));
    });

    it('serves EXPIRED past the ttl, with the stale row\'s event time', async () => {
      const u = randomUUID();
      const old = Date.now() - HOUR - 5 * 60_000; // stats_a has ttl 1h
      await push('stats_a', [{ user_id: u, event_timestamp: old, a_int: 9 }]);
      await push('stats_b', [{ user_id: u, event_timestamp: old, b_count: 9 }]); // ttl 1d: still fresh
      const f = (await frame(['stats_a:a_int', 'stats_b:b_count'], [{ user_id: u }])).data!.onlineFeatures;
      assert.deepEqual(f.rows, [[u, null, 9]]);
      assert.deepEqual(f.statuses, [[null, 'EXPIRED', 'PRESENT']]);
      assert.deepEqual(f.eventTimestamps, [[null, iso(old), iso(old)]]);
    });

    it('serves typed fields with _meta, for single, list and composite keys', async () => {
      const u = randomUUID();
      const t = Date.now() - 1000;
      await push('stats_a', [{ user_id: u, event_timestamp: t, a_int: 5, a_float: 1.25 }]);
      await push('pair_stats', [{ user_id: u, merchant_id: 'm1', event_timestamp: t, pair_count: 3 }]);
      await push('device_stats', [{ device_id: 77, event_timestamp: t, seen: 1 }]);
      const { body } = await post(
        `query ($u: ID!) {
          one: user(user_id: $u) { user_id stats_a { a_int a_float _meta { status eventTimestamp ageMs } } }
          many: users(user_id: [$u, "nobody"]) { user_id stats_a { a_int _meta { status } } }
          pair: userMerchants(keys: [{ user_id: $u, merchant_id: "m1" }, { user_id: $u, merchant_id: "m2" }]) { merchant_id pair_stats { pair_count } }
          device(device_id: 77) { device_stats { seen } }
        }`,
        { u },
      );
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const d = body.data!;
      assert.equal(d.one.stats_a.a_int, 5);
      assert.equal(d.one.stats_a.a_float, 1.25);
      assert.equal(d.one.stats_a._meta.status, 'PRESENT');
      assert.equal(d.one.stats_a._meta.eventTimestamp, iso(t));
      assert.ok(d.one.stats_a._meta.ageMs >= 1000);
      assert.deepEqual(d.many.map((x: { stats_a: { a_int: number; _meta: { status: string } } }) => [x.stats_a.a_int, x.stats_a._meta.status]), [
        [5, 'PRESENT'],
        [null, 'NOT_FOUND'],
      ]);
      assert.deepEqual(d.pair, [
        { merchant_id: 'm1', pair_stats: { pair_count: 3 } },
        { merchant_id: 'm2', pair_stats: { pair_count: null } },
      ]);
      assert.deepEqual(d.device, { device_stats: { seen: 1 } });
    });

    it('reads every (view, entity) of one operation in one store call, and only the views selected', async () => {
      // 99 + 1 + 99 entity rows: within the suite's --max-entities 200, which counts the whole request.
      const users = Array.from({ length: 99 }, (_, i) => `batch-${i}`);
      counted.calls.length = 0;
      const { body } = await post(
        `query ($users: [ID!]!, $entities: [JSON!]!) {
          a: users(user_id: $users) { ...A stats_b { b_count } }
          b: user(user_id: "batch-0") { stats_c { c_score } }
          f: onlineFeatures(features: ["stats_c:c_score"], entities: $entities) { rows }
        }
        fragment A on User { stats_a { a_int } }`,
        { users, entities: users.map((u) => ({ user_id: u })) },
      );
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      assert.equal(counted.calls.length, 1, 'one store call for the whole operation');
      const keys = counted.calls[0]!;
      assert.deepEqual([...new Set(keys.map((k) => k.view))].sort(), ['stats_a', 'stats_b', 'stats_c']);
      assert.equal(keys.length, 3 * users.length, 'identical (view, entity) pairs are read once');
      assert.ok(!keys.some((k) => k.view === 'all_types'));
    });

    it('refuses unknown features with a validation error naming each and the closest ones', async () => {
      const { body } = await post('{ onlineFeatures(features: ["stats_a:a_itn", "stats_q"], entities: [{user_id: "u"}]) { rows } }');
      assert.equal(body.data, undefined);
      assert.equal(body.errors?.[0]?.extensions?.code, 'UNKNOWN_FEATURE');
      assert.match(body.errors![0]!.message, /"stats_a:a_itn" \(did you mean "stats_a:a_int"\?\)/);
      assert.match(body.errors![0]!.message, /"stats_q"/);
      const viaVariables = await frame(['stats_a:nope'], [{ user_id: 'u' }]);
      assert.equal(viaVariables.errors?.[0]?.extensions?.code, 'UNKNOWN_FEATURE');
    });

    it('names the row and key of missing or mistyped join keys, before any store call', async () => {
      counted.calls.length = 0;
      const body = await frame(['stats_a:a_int', 'pair_stats:pair_count'], [{ user_id: 'u', merchant_id: 'm' }, { user_id: 'u' }, { user_id: 1.5, merchant_id: 'm' }]);
      assert.equal(body.errors?.[0]?.extensions?.code, 'INVALID_ENTITY_KEY');
      assert.deepEqual(body.errors?.[0]?.extensions?.rowErrors, [
        { row: 1, key: 'merchant_id', reason: 'join key "merchant_id" is missing' },
        { row: 2, key: 'user_id', reason: 'join key "user_id" must be a non-empty string or an integer, got number 1.5' },
        { row: 2, key: 'user_id', reason: 'join key "user_id" must be a non-empty string or an integer, got number 1.5' },
      ]);
      assert.equal(counted.calls.length, 0);
    });

    it('refuses more entities than the limit before any store call', async () => {
      counted.calls.length = 0;
      const body = await frame(['stats_a:a_int'], Array.from({ length: 201 }, (_, i) => ({ user_id: `u${i}` })));
      assert.equal(body.errors?.[0]?.extensions?.code, 'TOO_MANY_ENTITIES');
      const typed = await post('query ($u: [ID!]!) { users(user_id: $u) { stats_a { a_int } } }', { u: Array.from({ length: 201 }, (_, i) => `u${i}`) });
      assert.equal(typed.body.errors?.[0]?.extensions?.code, 'TOO_MANY_ENTITIES');
      assert.equal(counted.calls.length, 0);
    });

    it('refuses a push with any bad row whole, listing each, and writes nothing', async () => {
      const u = randomUUID();
      const body = await push('stats_a', [
        { user_id: u, event_timestamp: Date.now(), a_int: 1 },
        { user_id: u, event_timestamp: 'not a time', a_int: 2 },
        { user_id: u, event_timestamp: Date.now(), a_int: 'three', extra: true },
      ]);
      assert.equal(body.errors?.[0]?.extensions?.code, 'INVALID_ROWS');
      assert.deepEqual((body.errors?.[0]?.extensions?.rowErrors as { index: number; field: string }[]).map((e) => [e.index, e.field]), [
        [1, 'event_timestamp'],
        [2, 'extra'],
        [2, 'a_int'],
      ]);
      assert.deepEqual(await stores.offline.query('select 1 from skewless.history_stats_a where user_id = $1', [u]), []);
      assert.deepEqual((await frame(['stats_a:a_int'], [{ user_id: u }])).data!.onlineFeatures.statuses, [[null, 'NOT_FOUND']]);
    });

    it('refuses pushes to unknown or computed views and oversized pushes', async () => {
      assert.equal((await push('stats_x', [])).errors?.[0]?.extensions?.code, 'UNKNOWN_VIEW');
      const big = Array.from({ length: 501 }, () => ({ user_id: 'u', event_timestamp: 1 }));
      assert.equal((await push('stats_a', big)).errors?.[0]?.extensions?.code, 'PUSH_TOO_LARGE');
    });
  });
}
