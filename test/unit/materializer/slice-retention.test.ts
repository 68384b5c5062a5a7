/** Old slices are deleted from PostgreSQL; what the online store may still be rebuilt from stays. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { commitBatch } from '../../../src/materializer/commit.ts';
import { DEFAULT_TIME_BOUNDS } from '../../../src/materializer/batch.ts';
import { decodeMessage, topicRoutes } from '../../../src/materializer/decode.ts';
import type { RawMessage } from '../../../src/materializer/decode.ts';
import { piecesFromOffline } from '../../../src/materializer/online-sync.ts';
import { pruneSlices, sliceCutoffs } from '../../../src/materializer/slice-retention.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { MemoryOnlineStore } from '../../../src/stores/memory/online.ts';
import type { Stores } from '../../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-11-21T12:00:00.000Z');

describe('slice retention', () => {
  let registry: Registry;
  let stores: Stores;
  const slices = async () => (await stores.offline.query<{ width: number; tile_start: number }>('select width::float8 as width, tile_start::float8 as tile_start from skewless."slices_windows" order by 1, 2'));
  const tiles = async () => (await stores.offline.query<{ n: number }>('select count(*)::int as n from skewless."tiles_windows"'))[0]!.n;

  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type Windows @featureView(entity: "User", source: "Txn") {
        n_1h: Int! @aggregate(fn: COUNT, window: "1h")
        sum_1d: Float! @aggregate(fn: SUM, of: "amount", window: "1d")
      }
    `);
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
    // Four hours of live traffic, one batch every 10 minutes, each committed at its own clock: every
    // batch feeds the head slices of its time.
    const route = topicRoutes(registry).get('txns')!;
    let offset = 0;
    for (let at = T0; at < T0 + 4 * HOUR; at += 10 * MIN) {
      const messages: RawMessage[] = ['u1', 'u2'].map((user) => ({ topic: 'txns', partition: 0, offset: offset++, value: JSON.stringify({ user_id: user, amount: 2, at: new Date(at - 30_000).toISOString() }), timestampMs: at }));
      await commitBatch(registry, stores, 'g', messages, messages.map((m) => decodeMessage(registry, route, m)), DEFAULT_TIME_BOUNDS, at);
    }
  });

  after(async () => {
    await stores.offline.close();
  });

  it('deletes the slices no online read or rebuild reaches, keeps the rest and every tile', async () => {
    const now = T0 + 4 * HOUR;
    const view = registry.view('windows') as AggregationView;
    const rebuiltBefore = await piecesFromOffline(registry, stores, view, undefined, now);
    const all = await slices();
    const tilesBefore = await tiles();
    const cutoff = new Map(sliceCutoffs(view, now).map((c) => [c.width, c.before]));
    const old = all.filter((s) => s.tile_start < cutoff.get(s.width)!);
    assert.ok(old.length > 0 && old.length < all.length, `${old.length} of ${all.length} slices are old`);

    assert.equal(await pruneSlices(registry, stores.offline, now), old.length);
    assert.deepEqual(await slices(), all.filter((s) => s.tile_start >= cutoff.get(s.width)!));
    assert.equal(await tiles(), tilesBefore, 'tiles are the historical record: never pruned');
    // What the online store would be rebuilt from at `now` is unchanged.
    assert.deepEqual(await piecesFromOffline(registry, stores, view, undefined, now), rebuiltBefore);
    assert.equal(await pruneSlices(registry, stores.offline, now), 0, 'a second pass finds nothing');
  });
});
