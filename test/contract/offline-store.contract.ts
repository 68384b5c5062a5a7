/** The OfflineStore contract: PGlite (embedded) and PostgreSQL pass the same cases. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FeatureRow } from '../../src/ingest/rows.ts';
import { buildRegistry } from '../../src/registry/build.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { readSchemaFiles } from '../../src/registry/sdl.ts';
import type { RowView } from '../../src/registry/types.ts';
import type { OfflineStore } from '../../src/stores/types.ts';
import { asOfJoinSql } from '../../src/stores/sql/point-in-time.ts';
import { BinaryCopyWriter } from '../../src/stores/sql/copy-binary.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

export interface OfflineStoreFactory {
  open(): Promise<OfflineStore>;
}

const row = (entityKey: string, eventTs: number, createdTs: number, values: Record<string, unknown>, keyValues = [entityKey]): FeatureRow => ({ entityKey, keyValues, eventTs, createdTs, values });

function inlineRegistry(text: string): Registry {
  const { decls, problems } = readSchemaFiles([{ path: 'inline.graphql', text }]);
  const result = buildRegistry(decls, [], problems);
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.registry;
}

export function offlineStoreContract(name: string, factory: OfflineStoreFactory): void {
  describe(`OfflineStore contract: ${name}`, () => {
    let store: OfflineStore;
    let registry: Registry;

    before(async () => {
      store = await factory.open();
      registry = await loadFixtureRegistry();
      await store.ensureSchema(registry);
    });
    after(() => store.close());

    it('creates history tables idempotently, indexed for as-of lookups', async () => {
      await store.ensureSchema(registry);
      const indexes = await store.query<{ indexdef: string }>(`select indexdef from pg_indexes where schemaname = 'skewless' and indexname = 'history_stats_a_asof'`);
      assert.equal(indexes.length, 1);
      assert.match(indexes[0]!.indexdef, /\(user_id, event_timestamp DESC, created_timestamp DESC, _seq DESC\)/);
    });

    it('appends rows with every type stored exactly, timestamps to the millisecond', async () => {
      const view = registry.view('all_types') as RowView;
      const id = randomUUID();
      const values = {
        t_int: -2147483648,
        t_float: 0.1 + 0.2,
        t_string: "naïve 'quoted' ✓",
        t_bool: true,
        t_id: '0042',
        t_time: Date.UTC(2026, 10, 21, 5, 31, 9, 123),
        t_json: { nested: [1, 'two', null] },
        t_list: [1.5, 2.5],
        t_required: 7,
      };
      await store.appendHistory(view, [row(id, Date.UTC(2026, 0, 1, 0, 0, 0, 1), Date.UTC(2026, 0, 1, 0, 0, 0, 2), values)]);
      const rows = await store.query<Record<string, unknown>>(`select * from skewless.history_all_types where user_id = $1`, [id]);
      assert.equal(rows.length, 1);
      const r = rows[0]!;
      assert.equal((r.event_timestamp as Date).getTime(), Date.UTC(2026, 0, 1, 0, 0, 0, 1));
      assert.equal((r.created_timestamp as Date).getTime(), Date.UTC(2026, 0, 1, 0, 0, 0, 2));
      assert.deepEqual(
        { ...r, t_time: (r.t_time as Date).getTime(), event_timestamp: undefined, created_timestamp: undefined, user_id: undefined, _seq: undefined },
        { ...values, event_timestamp: undefined, created_timestamp: undefined, user_id: undefined, _seq: undefined },
      );
    });

    it('numbers rows in write order, so exact ties resolve to the later write', async () => {
      const view = registry.view('stats_a') as RowView;
      const id = randomUUID();
      await store.appendHistory(view, [row(id, 1000, 1, { a_int: 1, a_float: null }), row(id, 1000, 1, { a_int: 2, a_float: null })]);
      await store.appendHistory(view, [row(id, 1000, 1, { a_int: 3, a_float: null })]);
      const rows = await store.query<{ a_int: number }>(`select a_int from skewless.history_stats_a where user_id = $1 order by _seq`, [id]);
      assert.deepEqual(rows.map((r) => r.a_int), [1, 2, 3]);
    });

    it('keeps every row: history is appended, never overwritten', async () => {
      const view = registry.view('stats_a') as RowView;
      const id = randomUUID();
      await store.appendHistory(view, [row(id, 2000, 1, { a_int: 2, a_float: null }), row(id, 1000, 1, { a_int: 1, a_float: 1.5 })]);
      await store.appendHistory(view, [row(id, 2000, 1, { a_int: 3, a_float: null })]);
      const rows = await store.query<{ a_int: number }>(`select a_int from skewless.history_stats_a where user_id = $1 order by a_int`, [id]);
      assert.deepEqual(rows.map((r) => r.a_int), [1, 2, 3]);
    });

    it('stores composite keys one column per join key', async () => {
      const view = registry.view('pair_stats') as RowView;
      const u = randomUUID();
      await store.appendHistory(view, [row(JSON.stringify([u, 'm1']), 1000, 1, { pair_count: 4 }, [u, 'm1'])]);
      const rows = await store.query(`select user_id, merchant_id, pair_count from skewless.history_pair_stats where user_id = $1`, [u]);
      assert.deepEqual(rows.map((r) => ({ ...r })), [{ user_id: u, merchant_id: 'm1', pair_count: 4 }]);
    });

    it('adds a column when a view gains a feature, old rows reading null', async () => {
      const name = `evolving_${randomUUID().slice(0, 8)}`;
      const before = inlineRegistry(`type U @entity(key: ["user_id"]) { user_id: ID! }\ntype V @featureView(entity: "U", name: "${name}") { x: Int }`);
      await store.ensureSchema(before);
      await store.appendHistory(before.view(name) as RowView, [row('u1', 1000, 1, { x: 1 })]);
      const after = inlineRegistry(`type U @entity(key: ["user_id"]) { user_id: ID! }\ntype V @featureView(entity: "U", name: "${name}") { x: Int y: Float }`);
      await store.ensureSchema(after);
      await store.appendHistory(after.view(name) as RowView, [row('u1', 2000, 1, { x: 2, y: 0.5 })]);
      const rows = await store.query(`select x, y from skewless.history_${name} order by x`);
      assert.deepEqual(rows.map((r) => ({ ...r })), [
        { x: 1, y: null },
        { x: 2, y: 0.5 },
      ]);
    });

    it('writes nothing of a batch that fails', async () => {
      const view = registry.view('stats_a') as RowView;
      const id = randomUUID();
      // An out-of-range integer gets past nothing in the product (rows are validated first); here it
      // stands in for any database-side failure half-way through a batch.
      await assert.rejects(store.appendHistory(view, [row(id, 1000, 1, { a_int: 1 }), row(id, 2000, 1, { a_int: 2 ** 40 })]));
      const rows = await store.query(`select 1 from skewless.history_stats_a where user_id = $1`, [id]);
      assert.equal(rows.length, 0);
    });

    it('plans the as-of join as index probes in key order, put back in input order one chunk at a time', async () => {
      const view = registry.view('stats_a') as RowView;
      // Enough history, with fresh statistics, that probing the index is the right plan whatever ran
      // before (on a table the planner knows to be tiny, a scan is cheaper and rightly chosen).
      await store.appendHistory(view, Array.from({ length: 5000 }, (_, i) => row(`plan-${i}`, 1000 + i, 1000 + i, { a_int: i })));
      await store.query('analyze skewless.history_stats_a');
      const plan = { joinKeys: ['user_id'], asKnownAt: false, views: [{ view, entity: registry.entity('User')!, features: ['a_int'] }] };
      const sql = asOfJoinSql(plan, { kind: 'sql', sql: `select 'u' || n as user_id, now() as event_timestamp from generate_series(1, 10) n`, limit: undefined });
      const text = (await store.query<{ 'QUERY PLAN': string }>(`explain ${sql}`)).map((r) => r['QUERY PLAN']).join('\n');
      // The final sort must be incremental on the chunk number: a full sort would hold back every row of
      // an export until the last probe, and the probes must walk the history index, not scan the table.
      assert.match(text, /Incremental Sort[\s\S]*Presorted Key: \(\(\(row_number\(\) OVER \(\?\) - 1\)\)::integer \/ 100000\)|Incremental Sort[\s\S]*Presorted Key: [^\n]*100000/);
      assert.match(text, /Index Scan using history_stats_a_asof/);
      assert.doesNotMatch(text, /Seq Scan on history_stats_a/);
    });

    it('copies binary COPY data in a transaction, every type exact (times before 2000 and past 2285 too)', async () => {
      const table = `skewless.copy_${randomUUID().replaceAll('-', '')}`;
      await store.query(`create table ${table} (a text, b integer, c bigint, d double precision, e timestamptz, f jsonb, g boolean)`);
      const rows = [
        { a: 'naïve ✓ "q" \\ tab\tnewline\n', b: -(2 ** 31), c: 2 ** 53 - 1, d: 0.1 + 0.2, e: Date.UTC(1969, 6, 20, 20, 17, 40, 123), f: { nested: [1, 'two', null] }, g: true },
        { a: '', b: 2 ** 31 - 1, c: -5, d: -0, e: Date.UTC(2026, 10, 21, 5, 31, 9, 999), f: [], g: false },
        { a: 'far', b: 0, c: 0, d: 1e300, e: Date.UTC(2500, 0, 1, 0, 0, 0, 1), f: 'text', g: true },
        { a: null, b: null, c: null, d: null, e: null, f: null, g: null },
      ];
      const writer = new BinaryCopyWriter(16);
      for (const r of rows) {
        writer.row(7);
        if (r.a === null) writer.null().null().null().null().null().null().null();
        else writer.text(r.a).int32(r.b!).int64(r.c!).float64(r.d!).timestampMs(r.e!).jsonb(JSON.stringify(r.f)).boolean(r.g!);
      }
      const copied = await store.transaction((tx) => tx.copyBinary(`${table} (a, b, c, d, e, f, g)`, writer.finish()));
      assert.equal(copied, rows.length);
      const stored = await store.query(`select a, b, c::text as c, d, (extract(epoch from e) * 1000)::text as e, f, g from ${table} order by b nulls last`);
      const expected = [rows[0]!, rows[2]!, rows[1]!, rows[3]!].map((r) => ({ ...r, c: r.c === null ? null : String(r.c), e: r.e === null ? null : String(r.e) }));
      // extract() gives numeric text: `-14182939877` stays whole, ms like 123 come as `…877.000`: compare as numbers.
      assert.deepEqual(
        stored.map((r) => ({ ...r, e: r.e === null ? null : String(Number(r.e)) })),
        expected,
      );
      await store.query(`drop table ${table}`);
    });

    it('copies data longer than one COPY message', async () => {
      const table = `skewless.copy_${randomUUID().replaceAll('-', '')}`;
      await store.query(`create table ${table} (n integer, t text)`);
      const writer = new BinaryCopyWriter();
      const text = 'x'.repeat(200);
      for (let n = 0; n < 5000; n++) writer.row(2).int32(n).text(`${n}:${text}`);
      const data = writer.finish();
      assert.ok(data.length > 1 << 20, `${data.length} bytes`);
      assert.equal(await store.transaction((tx) => tx.copyBinary(`${table} (n, t)`, data)), 5000);
      const [sum] = await store.query<{ n: number; bytes: number; bad: number }>(`select sum(n)::int as n, sum(length(t))::int as bytes, count(*) filter (where t <> n || ':' || repeat('x', 200))::int as bad from ${table}`);
      assert.deepEqual({ ...sum }, { n: (4999 * 5000) / 2, bytes: Array.from({ length: 5000 }, (_, n) => `${n}:`.length + 200).reduce((a, b) => a + b), bad: 0 });
      await store.query(`drop table ${table}`);
    });

    it('fails a COPY the server refuses with its error, writing nothing of the transaction, and keeps serving', async () => {
      const table = `skewless.copy_${randomUUID().replaceAll('-', '')}`;
      await store.query(`create table ${table} (k integer primary key)`);
      await store.query(`insert into ${table} values (0)`);
      // Refused before the copy starts: the data sent with the statement is dropped, nothing else.
      await assert.rejects(
        store.transaction((tx) => tx.copyBinary(`${table}_missing (k)`, new BinaryCopyWriter().row(1).int32(7).finish())),
        (error: Error & { code?: string }) => error.code === '42P01',
      );
      assert.deepEqual((await store.query<{ k: number }>(`select k from ${table} order by k`)).map((r) => r.k), [0]);
      const duplicate = new BinaryCopyWriter().row(1).int32(1).row(1).int32(1).finish();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.query(`insert into ${table} values (100)`);
          await tx.copyBinary(`${table} (k)`, duplicate);
        }),
        (error: Error & { code?: string }) => error.code === '23505',
      );
      assert.deepEqual((await store.query<{ k: number }>(`select k from ${table} order by k`)).map((r) => r.k), [0]);
      // The same connection(s) go on: a COPY and a query in the next transaction.
      const fine = new BinaryCopyWriter().row(1).int32(2).finish();
      assert.equal(await store.transaction((tx) => tx.copyBinary(`${table} (k)`, fine)), 1);
      assert.deepEqual((await store.query<{ k: number }>(`select k from ${table} order by k`)).map((r) => r.k), [0, 2]);
      await store.query(`drop table ${table}`);
    });

    it('answers ping', async () => {
      await store.ping();
    });
  });
}
