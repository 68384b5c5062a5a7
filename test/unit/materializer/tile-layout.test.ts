/**
 * A tiles table in the one-row-per-feature layout of an earlier Skewless is refused, with the fix named; tables
 * in the current layout get the fill factor that leaves room for their rows' next versions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import { insertNewPiecesSql, savePiecesSql } from '../../../src/stores/sql/materializer-tables.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

/** One aggregation view, `windows`: its tables are tiles_windows and slices_windows. */
const windowsRegistry = () =>
  registryFromSdl(`
    type User @entity(key: ["user_id"]) { user_id: ID! }
    type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! at: DateTime! }
    type Windows @featureView(entity: "User", source: "Txn") { n: Int! @aggregate(fn: COUNT, window: "1h") }
  `);

describe('tile table layout', () => {
  it('refuses an old per-feature tiles table at ensureSchema, naming the tables to drop and the backfill to run, and keeps its rows', async () => {
    const registry = await windowsRegistry();
    const offline = await pgliteOfflineStore();
    try {
      await offline.query('create schema skewless');
      await offline.query(`create table skewless."tiles_windows" (entity_key text, feature text, tile_start bigint, tile_end bigint, partial jsonb, primary key (entity_key, feature, tile_start))`);
      await offline.query(`insert into skewless."tiles_windows" values ('["u1"]', 'n', 0, 60000, '1')`);
      await assert.rejects(offline.ensureSchema(registry), (error: { code?: string; message: string }) => {
        assert.equal(error.code, '55000', 'object_not_in_prerequisite_state');
        assert.match(error.message, /skewless\.tiles_windows has the tile layout of an earlier Skewless/);
        assert.match(error.message, /Drop skewless\.tiles_windows and skewless\.slices_windows, then run: skewless backfill windows/);
        return true;
      });
      assert.equal((await offline.query('select count(*)::int as n from skewless."tiles_windows"'))[0]!.n, 1, 'nothing dropped behind the operator\'s back');
    } finally {
      await offline.close();
    }
  });

  it('leaves room on each page of tiles and slices for updated rows, in new tables and in tables an earlier version created', async () => {
    const registry = await windowsRegistry();
    const fillFactors = async (offline: Awaited<ReturnType<typeof pgliteOfflineStore>>) =>
      Object.fromEntries(
        (await offline.query<{ relname: string; options: string[] | null }>(`select relname, reloptions as options from pg_class where relname in ('tiles_windows', 'slices_windows')`)).map((r) => [r.relname, r.options]),
      );
    const fresh = await pgliteOfflineStore();
    const earlier = await pgliteOfflineStore();
    try {
      await fresh.ensureSchema(registry);
      assert.deepEqual(await fillFactors(fresh), { tiles_windows: ['fillfactor=80'], slices_windows: ['fillfactor=50'] });
      await earlier.query('create schema skewless');
      for (const table of ['tiles_windows', 'slices_windows'])
        await earlier.query(`create table skewless."${table}" (entity_key text not null, width bigint not null, tile_start bigint not null, partial jsonb not null, version bigint not null default 0, primary key (entity_key, width, tile_start))`);
      await earlier.query(`insert into skewless."tiles_windows" values ('u1', 3600000, 0, '{"n":1}', 1)`);
      await earlier.ensureSchema(registry);
      assert.deepEqual(await fillFactors(earlier), { tiles_windows: ['fillfactor=80'], slices_windows: ['fillfactor=50'] });
      assert.equal((await earlier.query('select count(*)::int as n from skewless."tiles_windows"'))[0]!.n, 1);
    } finally {
      await fresh.close();
      await earlier.close();
    }
  });

  it('keeps tiles and slices as text, turning the jsonb tables of earlier versions into text with their rows', async () => {
    const registry = await windowsRegistry();
    const types = async (offline: Awaited<ReturnType<typeof pgliteOfflineStore>>) =>
      Object.fromEntries(
        (await offline.query<{ table_name: string; data_type: string }>(`select table_name, data_type from information_schema.columns where table_schema = 'skewless' and column_name = 'partial' order by 1`)).map((r) => [r.table_name, r.data_type]),
      );
    const fresh = await pgliteOfflineStore();
    const earlier = await pgliteOfflineStore();
    try {
      await fresh.ensureSchema(registry);
      assert.deepEqual(await types(fresh), { slices_windows: 'text', tiles_windows: 'text' });
      await earlier.query('create schema skewless');
      for (const table of ['tiles_windows', 'slices_windows'])
        await earlier.query(`create table skewless."${table}" (entity_key text not null, width bigint not null, tile_start bigint not null, partial jsonb not null, version bigint not null default 0, primary key (entity_key, width, tile_start))`);
      await earlier.query(`insert into skewless."slices_windows" values ('u1', 1000, 0, '{"n":3}', 7)`);
      await earlier.query(`insert into skewless."tiles_windows" values ('u2', 3600000, 0, '{"sum":[2,"1p+0"],"n":4}', 9)`);
      await earlier.ensureSchema(registry);
      assert.deepEqual(await types(earlier), { slices_windows: 'text', tiles_windows: 'text' });
      const rows = async (table: string) => await earlier.query(`select entity_key, partial, version::int as version from skewless."${table}"`);
      assert.deepEqual(await rows('slices_windows'), [{ entity_key: 'u1', partial: '{"n": 3}', version: 7 }]);
      // jsonb's own spelling: keys by length, then bytes.
      assert.deepEqual(await rows('tiles_windows'), [{ entity_key: 'u2', partial: '{"n": 4, "sum": [2, "1p+0"]}', version: 9 }]);
      await earlier.ensureSchema(registry);
      assert.deepEqual(await types(earlier), { slices_windows: 'text', tiles_windows: 'text' }, 'a second start changes nothing');
    } finally {
      await fresh.close();
      await earlier.close();
    }
  });

  it('writes and reads back tile and slice partials as sent, whatever characters their JSON escapes', async () => {
    const registry = await windowsRegistry();
    const offline = await pgliteOfflineStore();
    try {
      await offline.ensureSchema(registry);
      const texts = [JSON.stringify({ n: ['a\u001eb', 'c,d', '"q"', '\\'] }), '{"n":1}', JSON.stringify({ n: ['é✓', 'tab\t'] })];
      const keys = texts.map((_, i) => ({ entityKey: `u${i}`, width: 1000, start: i * 1000 }));
      for (const table of ['tiles_windows', 'slices_windows']) {
        const insert = insertNewPiecesSql(`skewless."${table}"`, keys, texts, 1);
        assert.deepEqual(await offline.query(insert.sql, insert.params), [{ inserted: 3, keys: null, widths: null, starts: null }]);
        const read = async () => (await offline.query<{ partial: string }>(`select partial from skewless."${table}" order by entity_key`)).map((r) => r.partial);
        assert.deepEqual(await read(), texts, table);
        const save = savePiecesSql(`skewless."${table}"`, keys.slice(1), texts.slice(0, 2), [2, 2]);
        await offline.query(save.sql, save.params);
        assert.deepEqual(await read(), [texts[0], texts[0], texts[1]], table);
      }
    } finally {
      await offline.close();
    }
  });
});
