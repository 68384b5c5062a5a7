/**
 * entitySql attacks end to end, through historicalFeatures and the export, on PostgreSQL and PGlite:
 * every attack is refused with INVALID_ENTITY_SQL before any SQL reaches the store, the attacks that read
 * a file are shown to work when run unchecked (so the refusal is what stops them), the canary table is
 * untouched, and queries whose dangerous words are only data or names run and return their values.
 * Then a seeded differential test: random queries of quoting and comment tricks, each run by the server
 * unchecked, must be refused exactly when the server would call pg_read_file.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { checkEntitySql } from '../../src/stores/sql/entity-sql.ts';
import type { Stores } from '../../src/stores/open.ts';
import type { EntityInput, OfflineStore } from '../../src/stores/types.ts';
import { ATTACKS, LEGITIMATE, composeQuery } from '../fixtures/entity-sql/attacks.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { random } from '../helpers/random.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

const QUERY = 'query ($s: String!) { historicalFeatures(features: ["stats_a:a_int"], entitySql: $s) { columns rows } }';
const CANARY_ROWS = [
  ['u1', '2026-06-01T00:00:00.000Z', 'first secret', 1],
  ['u2', '2026-06-02T00:00:00.000Z', 'second secret', 2],
  ['u3', '2026-06-03T00:00:00.000Z', 'third secret', 3],
] as const;
const COMPOSED_QUERIES = 600;
const SEED = 0x5ec0de;

/** The offline store with every entitySql it is handed recorded: refused queries must never get there. */
function recordingEntitySql(inner: OfflineStore, seen: string[]): OfflineStore {
  const record = (entities: EntityInput) => {
    if (entities.kind === 'sql') seen.push(entities.sql);
  };
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'asOfJoin' || prop === 'asOfJoinEach') {
        return (...args: unknown[]) => {
          record(args[1] as EntityInput);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

export function entitySqlAdversarialSuite(name: string, openStores: () => Promise<Stores>): void {
  describe(`entitySql against hostile queries: ${name}`, () => {
    let stores: Stores;
    let gateway: TestGateway;
    const reachedStore: string[] = [];
    const table = `public.canary_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    /** The content of PG_VERSION in the server's data directory: what a successful attack returns. */
    let fileContent: string;

    /** Runs SQL unchecked, as the test's superuser, in a READ ONLY transaction (the second fence alone). */
    const runUnchecked = (sql: string) =>
      stores.offline.transaction(async (tx) => {
        await tx.query('set transaction read only');
        return tx.query(sql);
      });

    before(async () => {
      stores = await openStores();
      gateway = await startTestGateway(await loadFixtureRegistry(), { online: stores.online, offline: recordingEntitySql(stores.offline, reachedStore) });
      await stores.offline.query(`create table ${table} (user_id text, event_timestamp timestamptz, secret text, seq integer)`);
      for (const row of CANARY_ROWS) await stores.offline.query(`insert into ${table} values ($1, $2, $3, $4)`, [...row]);
      const [read] = await stores.offline.query<{ v: string }>("select pg_read_file('PG_VERSION') as v");
      assert.ok(read !== undefined && /^\d+\n$/.test(read.v), 'the test needs a database user that may read server files (a superuser), to show the attacks would work');
      fileContent = read.v;
    });
    after(async () => {
      await stores.offline.query(`drop table if exists ${table}`);
      await gateway.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
    });

    it('refuses every attack with INVALID_ENTITY_SQL and its reason, over GraphQL and the export, before the store sees it', async () => {
      for (const attack of ATTACKS) {
        const sql = attack.sql(table);
        const { body } = await postGraphQL(gateway.base, QUERY, { s: sql });
        assert.equal(body.errors?.[0]?.extensions?.code, 'INVALID_ENTITY_SQL', `${attack.name}: ${JSON.stringify(body)}`);
        assert.match(body.errors![0]!.message, /^entitySql refused before running: /, attack.name);
        assert.match(body.errors![0]!.message, attack.reason, attack.name);
        assert.equal(body.data?.historicalFeatures ?? null, null, attack.name);
        const res = await fetch(`${gateway.base}/historical/export?format=jsonl`, { method: 'POST', body: JSON.stringify({ features: ['stats_a:a_int'], entitySql: sql }) });
        const exported = (await res.json()) as { error?: { code?: string } };
        assert.deepEqual([res.status, exported.error?.code], [400, 'INVALID_ENTITY_SQL'], attack.name);
      }
      assert.deepEqual(reachedStore, [], 'a refused query reached the store');
    });

    it('would have read the file: each file-reading attack, run unchecked, returns PG_VERSION', async () => {
      const live = ATTACKS.filter((a) => a.readsFile === true);
      assert.ok(live.length >= 15);
      for (const attack of live) {
        const rows = await runUnchecked(attack.sql(table));
        assert.equal(rows[0]?.leak, fileContent, `${attack.name} did not read the file when run unchecked`);
      }
    });

    it('leaves the canary table as it was', async () => {
      const rows = await stores.offline.query<{ user_id: string; secret: string; seq: number }>(`select user_id, secret, seq from ${table} order by seq`);
      assert.deepEqual(rows.map((r) => [r.user_id, r.secret, r.seq]), CANARY_ROWS.map(([u, , s, q]) => [u, s, q]));
    });

    it('runs queries whose dangerous-looking words are data or names, returning their values', async () => {
      for (const query of LEGITIMATE) {
        const { body } = await postGraphQL(gateway.base, QUERY, { s: query.sql(table) });
        assert.equal(body.errors, undefined, `${query.name}: ${JSON.stringify(body.errors)}`);
        const frame = body.data!.historicalFeatures as { columns: string[]; rows: unknown[][] };
        assert.deepEqual(frame.columns, ['user_id', 'event_timestamp', 'note', 'stats_a:a_int'], query.name);
        assert.deepEqual(
          frame.rows.map((r) => [r[0], r[2]]),
          CANARY_ROWS.map(([u]) => [u, query.note]),
          query.name,
        );
      }
    });

    it(`refuses exactly the random compositions that would call pg_read_file (${COMPOSED_QUERIES} queries, seeded)`, async () => {
      const draw = random(SEED);
      const plan = { joinKeys: ['user_id'], asKnownAt: false, views: [] };
      const tally = { reads: 0, refused: 0, accepted: 0 };
      for (let n = 0; n < COMPOSED_QUERIES; n++) {
        const q = composeQuery(draw);
        // The generator's own promise, checked by the server: every query runs, and reads the file iff drawn to.
        const unchecked = await runUnchecked(q.sql);
        assert.equal(unchecked[0]?.leak === fileContent, q.readsFile, `server and generator disagree on: ${JSON.stringify(q.sql)}`);
        if (q.readsFile) tally.reads++;
        const checked = checkEntitySql(q.sql);
        if (!checked.ok) {
          tally.refused++;
          assert.ok(q.readsFile || q.plainBackslash, `refused without cause (${checked.reason}): ${JSON.stringify(q.sql)}`);
          continue;
        }
        tally.accepted++;
        assert.ok(!q.readsFile, `accepted a query that reads a file: ${JSON.stringify(q.sql)}`);
        const joined = await stores.offline.asOfJoin(plan, { kind: 'sql', sql: checked.sql, limit: 10, timeoutMs: 5000 });
        assert.equal(joined.length, 1, JSON.stringify(q.sql));
        assert.notEqual((joined[0]!.__row as { leak?: unknown }).leak, fileContent);
      }
      // Both outcomes must be well represented, or the test proves little.
      assert.ok(tally.reads > COMPOSED_QUERIES / 2 && tally.accepted > COMPOSED_QUERIES / 10, JSON.stringify(tally));
    });
  });
}
