/**
 * docs/sql/roles.sql, run as it is in a database of its own: each role does its work as that role (the
 * gateway's push, historical query, entitySql, export, parity sampling and reconciliation, drift
 * references; the materializer's commit of events, rows and dead letters), and PostgreSQL itself refuses
 * the writes and reads each role must not make, entitySql that got past the check included. The gateway's
 * freshness check reads what the materializer committed.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { commitBatch } from '../../src/materializer/commit.ts';
import { decodeMessage, topicRoutes } from '../../src/materializer/decode.ts';
import type { RawMessage } from '../../src/materializer/decode.ts';
import { newestByView, newestEventTimesSql } from '../../src/ops/freshness.ts';
import { reconcileParity } from '../../src/ops/parity/reconcile.ts';
import { ensureParityTables, insertSamplesSql } from '../../src/ops/parity/tables.ts';
import { ensureReferencesTable } from '../../src/ops/quality/references.ts';
import { insertReferencesSql, latestReferencesSql } from '../../src/ops/quality/sql.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import { historyTable } from '../../src/stores/sql/history.ts';
import { headsTable } from '../../src/stores/sql/heads-tables.ts';
import { DEAD_LETTERS, OFFSETS, eventsTable, tilesTable } from '../../src/stores/sql/materializer-tables.ts';
import type { OfflineStore } from '../../src/stores/types.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { ROOT } from '../helpers/paths.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { serviceUrl, uniqueName } from '../helpers/services.ts';

const ROLES_SQL = path.join(ROOT, 'docs/sql/roles.sql');
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1);
const BOUNDS = { allowedLatenessMs: 3650 * DAY, maxFutureSkewMs: 3650 * DAY };
const SDL = `type User @entity(key: ["user_id"]) { user_id: ID! }
  type Txn @source(topic: "roles_tx", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
  type Pushed @featureView(entity: "User", name: "pushed") { score: Float }
  type Streamed @featureView(entity: "User", name: "streamed", topic: "roles_rows") { level: Int }
  type Windows @featureView(entity: "User", source: "Txn", name: "windows") { n: Int! @aggregate(fn: COUNT, window: "1d") }`;

/** PostgreSQL's own refusal: insufficient_privilege. */
const refusedByPostgres = (e: { code?: string }) => e.code === '42501';

describe('least-privilege database roles (docs/sql/roles.sql)', () => {
  const database = uniqueName('skewless_roles');
  const gatewayRole = `${database}_gw`;
  const materializerRole = `${database}_mat`;
  const url = (user?: string) => {
    const u = new URL(serviceUrl('DATABASE_URL'));
    u.pathname = `/${database}`;
    if (user !== undefined) u.username = user;
    return u.toString();
  };
  let registry: Registry;
  let owner: OfflineStore;
  let gatewayStores: Stores;
  let materializerStores: Stores;
  let gateway: TestGateway;

  before(async () => {
    registry = await registryFromSdl(SDL);
    const admin = new pg.Client(serviceUrl('DATABASE_URL'));
    await admin.connect();
    await admin.query(`create database ${database}`);
    await admin.end();
    // The owner (here the test's superuser) creates the schema, as a deployment does before the roles.
    owner = postgresOfflineStore(url());
    await owner.ensureSchema(registry);
    await ensureParityTables(owner);
    await ensureReferencesTable(owner);
    await owner.query('create table public.labels (user_id text, event_timestamp timestamptz, label integer)');
    await owner.query('create table public.salaries (user_id text, salary integer)');
    await owner.query("insert into public.labels values ('u1', $1, 1), ('u2', $1, 0)", [new Date(T0 + DAY)]);
    // The file exactly as documented, with role names of this run's own (roles are cluster-wide).
    const sql = (await readFile(ROLES_SQL, 'utf8')).replaceAll('skewless_gateway', gatewayRole).replaceAll('skewless_materializer', materializerRole);
    await owner.query(sql);
    // What the file leaves to the reader: the training tables entitySql may read.
    await owner.query(`grant select on public.labels to ${gatewayRole}`);
    gatewayStores = { online: new MemoryOnlineStore(), offline: postgresOfflineStore(url(gatewayRole)) };
    materializerStores = { online: new MemoryOnlineStore(), offline: postgresOfflineStore(url(materializerRole)) };
    gateway = await startTestGateway(registry, gatewayStores);
  });

  after(async () => {
    await gateway?.close();
    await Promise.all([gatewayStores?.offline.close(), materializerStores?.offline.close(), owner?.close()]);
    const admin = new pg.Client(serviceUrl('DATABASE_URL'));
    await admin.connect();
    await admin.query(`drop database if exists ${database} with (force)`);
    for (const role of [gatewayRole, materializerRole]) await admin.query(`drop role if exists ${role}`);
    await admin.end();
  });

  it('starts as its role once the owner applied the schema (no DDL runs); a changed schema needs the owner first', async () => {
    for (const stores of [gatewayStores, materializerStores]) await stores.offline.ensureSchema(registry);
    await ensureParityTables(gatewayStores.offline);
    await ensureReferencesTable(gatewayStores.offline);
    // A view the owner has not applied: the role may not create its table, and says so at start-up.
    const grown = await registryFromSdl(`${SDL}\n  type Added @featureView(entity: "User", name: "added") { x: Int }`);
    await assert.rejects(gatewayStores.offline.ensureSchema(grown), refusedByPostgres);
    await owner.ensureSchema(grown);
    // A process still on the older schema (a rolling deploy) starts as its role: that version was applied.
    await gatewayStores.offline.ensureSchema(registry);
    await gatewayStores.offline.query(`select 1 from ${historyTable('added')} limit 1`).then(
      () => assert.fail('the role reads a table roles.sql has not granted yet'),
      (e: { code?: string }) => assert.ok(refusedByPostgres(e)),
    );
  });

  it('creates login roles with no other attribute', async () => {
    const rows = await owner.query<{ rolname: string; rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolinherit: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>(
      'select rolname, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolbypassrls, rolcanlogin from pg_roles where rolname = any($1) order by rolname',
      [[gatewayRole, materializerRole]],
    );
    assert.deepEqual(
      rows.map((r) => [r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolinherit, r.rolbypassrls]),
      [gatewayRole, materializerRole].map((r) => [r, true, false, false, false, false, false]),
    );
  });

  it('the gateway pushes, answers historical queries and entitySql, and exports, as its role', async () => {
    const pushed = await postGraphQL(gateway.base, 'mutation ($r: [JSON!]!) { pushFeatures(view: "pushed", rows: $r) { rows } }', {
      r: [{ user_id: 'u1', event_timestamp: T0, created_timestamp: T0, score: 0.5 }, { user_id: 'u2', event_timestamp: T0, created_timestamp: T0, score: 0.25 }],
    });
    assert.equal(pushed.body.errors, undefined, JSON.stringify(pushed.body.errors));
    const query = 'query ($s: String!) { historicalFeatures(features: ["pushed:score"], entitySql: $s) { rows } }';
    const { body } = await postGraphQL(gateway.base, query, { s: 'select user_id, event_timestamp, label from public.labels order by user_id' });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    assert.deepEqual((body.data!.historicalFeatures as { rows: unknown[][] }).rows.map((r) => [r[0], r[2], r[3]]), [['u1', 1, 0.5], ['u2', 0, 0.25]]);
    const res = await fetch(`${gateway.base}/historical/export?format=jsonl&reference=off`, {
      method: 'POST',
      body: JSON.stringify({ features: ['pushed:score'], entitySql: 'select user_id, event_timestamp from public.labels order by user_id' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.text()).trim().split('\n').map((l) => (JSON.parse(l) as Record<string, unknown>)['pushed:score']), [0.5, 0.25]);
  });

  it('the gateway records parity samples, reconciles them and keeps drift references, as its role', async () => {
    const sample = insertSamplesSql([{ asOf: T0 + DAY, view: 'pushed', keys: { user_id: 'u1' }, request: null, status: 'PRESENT', values: { score: 0.5 }, eventTs: T0, createdTs: T0, transforms: null }]);
    await gatewayStores.offline.query(sample.sql, sample.params);
    const summary = await reconcileParity({ registry, stores: gatewayStores, transforms: undefined }, { now: T0 + 2 * DAY, settleMs: 0, retentionMs: 30 * DAY });
    assert.deepEqual([summary.samples, summary.totals.MATCH], [1, 1], JSON.stringify(summary));
    const refs = insertReferencesSql([{ view: 'pushed', feature: 'score', capturedAt: T0, origin: 'export', note: 'test', edges: [0, 1], proportions: [1], sampleCount: 2 }]);
    await gatewayStores.offline.query(refs.sql, refs.params);
    const latest = latestReferencesSql([{ view: 'pushed', feature: 'score' }]);
    assert.equal((await gatewayStores.offline.query<{ note: string }>(latest.sql, latest.params))[0]?.note, 'test');
  });

  it('PostgreSQL refuses the gateway what it must not do: rewrite history, touch the materializer tables, DDL, roles, files', async () => {
    const db = gatewayStores.offline;
    for (const sql of [
      `delete from ${historyTable('pushed')}`,
      `update ${historyTable('pushed')} set score = 0`,
      `truncate ${historyTable('pushed')}`,
      `drop table ${historyTable('pushed')}`,
      `alter table ${historyTable('pushed')} add column stolen integer`,
      `insert into ${eventsTable('Txn')} (_topic, _partition, _offset) values ('x', 0, 0)`,
      `delete from ${tilesTable('windows')}`,
      `delete from ${headsTable('windows')}`,
      `insert into ${headsTable('windows')} values ('u', 0, '')`,
      `insert into ${OFFSETS} (group_id, topic, partition, next_offset) values ('g', 't', 0, 0)`,
      `select * from ${OFFSETS}`,
      `select * from ${DEAD_LETTERS}`,
      'select * from public.salaries',
      'create table public.stolen (x integer)',
      'create table skewless.stolen (x integer)',
      "select pg_read_file('PG_VERSION')",
      "select lo_import('/etc/hostname')",
      `set role ${materializerRole}`,
    ]) {
      await assert.rejects(db.query(sql), refusedByPostgres, sql);
    }
  });

  it('PostgreSQL refuses entitySql the check lets through but the role may not read, as INVALID_ENTITY_SQL', async () => {
    const query = 'query ($s: String!) { historicalFeatures(features: ["pushed:score"], entitySql: $s) { rows } }';
    const { body } = await postGraphQL(gateway.base, query, { s: `select user_id, now() as event_timestamp, salary from public.salaries` });
    assert.equal(body.errors?.[0]?.extensions?.code, 'INVALID_ENTITY_SQL');
    assert.match(body.errors![0]!.message, /^entitySql failed: permission denied for table salaries/);
    // The third fence on its own, past the check: a file read handed straight to the store.
    const plan = { joinKeys: ['user_id'], asKnownAt: false, views: [] };
    await assert.rejects(gatewayStores.offline.asOfJoin(plan, { kind: 'sql', sql: "select 'u' as user_id, now() as event_timestamp, pg_read_file('PG_VERSION') as leak", limit: 1, timeoutMs: 5000 }), refusedByPostgres);
  });

  it('the materializer commits events, rows and dead letters as its role', async () => {
    const events = [
      { topic: 'roles_tx', value: { user_id: 'u1', amount: 3, at: T0 } },
      { topic: 'roles_tx', value: { user_id: 'u1', amount: 4, at: T0 + 1000 } },
      { topic: 'roles_tx', value: 'not json' },
      { topic: 'roles_rows', value: { user_id: 'u2', event_timestamp: T0, level: 7 } },
    ];
    const messages: RawMessage[] = events.map((e, offset) => ({ topic: e.topic, partition: 0, offset, value: typeof e.value === 'string' ? e.value : JSON.stringify(e.value), timestampMs: T0 }));
    const routes = topicRoutes(registry);
    const result = await commitBatch(registry, materializerStores, 'roles_group', messages, messages.map((m) => decodeMessage(registry, routes.get(m.topic)!, m)), BOUNDS);
    assert.equal(result.dead.length, 1);
    const counts = await owner.query<{ events: number; heads: number; rows: number; dead: number; tiles: number; offsets: string }>(
      `select (select count(*)::int from ${eventsTable('Txn')}) as events, (select count(*)::int from ${headsTable('windows')}) as heads, (select count(*)::int from ${historyTable('streamed')}) as rows, ` +
        `(select count(*)::int from ${DEAD_LETTERS}) as dead, (select count(*)::int from ${tilesTable('windows')}) as tiles, ` +
        `(select string_agg(topic || '/' || next_offset, ',' order by topic) from ${OFFSETS} where group_id = 'roles_group') as offsets`,
    );
    // Both events of u1 in one heads row: one bucket, one commit.
    assert.deepEqual(counts[0], { events: 2, heads: 1, rows: 1, dead: 1, tiles: 1, offsets: 'roles_rows/4,roles_tx/3' });
    // The gateway's freshness check reads what was committed, as its role (archive marks included).
    const { sql, params } = newestEventTimesSql(registry);
    const newest = newestByView(registry, await gatewayStores.offline.query<{ key: string; newest: unknown }>(sql, params));
    assert.deepEqual(Object.fromEntries(newest), { pushed: T0, streamed: T0, windows: T0 + 1000 });
  });

  it('PostgreSQL refuses the materializer what it must not do: the gateway tables, training data, DDL', async () => {
    const db = materializerStores.offline;
    for (const sql of [
      `update ${historyTable('streamed')} set level = 0`,
      `delete from ${historyTable('streamed')}`,
      `delete from ${eventsTable('Txn')}`,
      "insert into skewless.parity_samples (sampled_at, view, keys, status, \"values\") values (now(), 'v', '{}', 'PRESENT', '{}')",
      'select * from skewless.quality_references',
      'select * from public.labels',
      `drop table ${tilesTable('windows')}`,
      'create table skewless.stolen (x integer)',
      `set role ${gatewayRole}`,
    ]) {
      await assert.rejects(db.query(sql), refusedByPostgres, sql);
    }
  });
});
