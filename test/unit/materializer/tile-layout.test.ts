/** A tiles table in the one-row-per-feature layout of an earlier Skewless is refused, with the fix named. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

describe('tile table layout', () => {
  it('refuses an old per-feature tiles table at ensureSchema, naming the tables to drop and the backfill to run, and keeps its rows', async () => {
    const registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! at: DateTime! }
      type Windows @featureView(entity: "User", source: "Txn") { n: Int! @aggregate(fn: COUNT, window: "1h") }
    `);
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
});
