/**
 * Lazy slices (features/aggregate/event-span.ts): a tile whose events lie in one slice of a lazy width is
 * written with no slice row there, and stands in for it online; once a second slice gets events, the
 * first is written whole from the tile's partials, however the commit planned (cached rows, none, or a
 * stale cache), and replacing what its row held. Every value is checked against the events themselves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { entityKeyText } from '../../../src/features/keys.ts';
import { PieceCache } from '../../../src/materializer/piece-cache.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { aggregationValueAt, eventRangeAt } from '../../../src/serving/aggregation-online.ts';
import type { Stores } from '../../../src/stores/open.ts';
import type { SqlClient } from '../../../src/stores/sql/client.ts';
import type { OnlinePieces } from '../../../src/stores/types.ts';
import { H, M, S, at, commitAtTheirTimes, openEmbeddedStores } from '../../helpers/embedded-commits.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

// The events below lie in the head tile 12:00–13:00 (T0, embedded-commits.ts).

interface Event {
  readonly time: number;
  readonly amount: number;
  readonly merchant: string;
}
const e1: Event = { time: at(10, 5), amount: 1.5, merchant: 'm1' };
const e2: Event = { time: at(12), amount: 2.25, merchant: 'm2' };
const e3: Event = { time: at(31), amount: 4, merchant: 'm1' };

describe('lazy slices', () => {
  let registry: Registry;
  let view: AggregationView;
  const opened: SqlClient[] = [];
  const counter = { offset: 0 };

  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! merchant: String! amount: Float! at: DateTime! }
      type Windows @featureView(entity: "User", source: "Txn") {
        n: Int! @aggregate(fn: COUNT, window: "24h", slice: "5m")
        total: Float! @aggregate(fn: SUM, of: "amount", window: "24h", slice: "5m")
        merchants: Int! @aggregate(fn: COUNT_DISTINCT, of: "merchant", window: "24h", slice: "5m")
        recent: Int! @aggregate(fn: COUNT, window: "1h")
        burst: Int! @aggregate(fn: COUNT, window: "2m", hop: "30s")
      }
    `);
    view = registry.view('windows') as AggregationView;
  });

  after(async () => {
    for (const client of opened) await client.close();
  });

  const openStores = () => openEmbeddedStores(registry, opened);

  /** Commits events of user u1 as produced at their own times, with the materializer's clock just after the last. */
  const commit = (stores: Stores, events: readonly Event[], cache?: PieceCache, clock?: number) =>
    commitAtTheirTimes(registry, stores, 'txns', events, (e) => ({ user_id: 'u1', merchant: e.merchant, amount: e.amount, at: new Date(e.time).toISOString() }), counter, cache, clock);

  const rows = (stores: Stores, kind: 'tiles' | 'slices', width: number) =>
    stores.offline.query<{ tile_start: number; partial: string }>(`select tile_start::float8 as tile_start, partial from skewless."${kind}_windows" where width = $1 order by tile_start`, [width]);

  /** The values the gateway serves at T, from the online store. */
  const online = async (stores: Stores, asOf: number) => {
    const entityKey = entityKeyText(registry.entity('User')!, { user_id: 'u1' })!;
    const [entry] = await stores.online.read([{ view: 'windows', entity: 'User', entityKey, pieces: true, eventRange: eventRangeAt(view, asOf) }]);
    return { fields: Object.keys((entry as OnlinePieces).pieces), values: aggregationValueAt(view, entry as OnlinePieces, asOf).values };
  };

  /** The 24h features' values over the events before T (all of them lie in its window). */
  const expected = (events: readonly Event[], asOf: number) => {
    const before = events.filter((e) => e.time < asOf);
    return { n: before.length, total: before.reduce((sum, e) => sum + e.amount, 0), merchants: new Set(before.map((e) => e.merchant)).size };
  };
  const daily = (values: Record<string, unknown> | null) => ({ n: values?.n, total: values?.total, merchants: values?.merchants });

  it('writes no slice row while a tile holds events of one slice, and the gateway takes the tile whole once T is past that slice', async () => {
    const stores = await openStores();
    await commit(stores, [e1, e2], new PieceCache());
    assert.deepEqual(await rows(stores, 'slices', 5 * M), [], 'no 5m slice row');
    assert.ok((await rows(stores, 'slices', S)).length > 0, 'the 1s slices, shared by two hops, are written as events come');
    const [tile] = await rows(stores, 'tiles', H);
    assert.deepEqual(JSON.parse(tile!.partial).$events, [e1.time, e2.time], "the tile's span");

    for (const asOf of [at(11), at(12, 30), at(15), at(20), at(59, 59)]) {
      const { fields, values } = await online(stores, asOf);
      assert.ok(!fields.some((f) => f.startsWith(`S:${5 * M}:`)), 'nor a 5m slice online');
      assert.deepEqual(daily(values), expected([e1, e2], asOf), `at 12:${new Date(asOf).getUTCMinutes()}:${new Date(asOf).getUTCSeconds()}`);
    }
  });

  // The caches of the three commits: one writer; none (every row read); two writers, the third commit's cache a commit behind.
  const one = new PieceCache();
  const [a, b] = [new PieceCache(), new PieceCache()];
  for (const [mode, caches] of [
    ['one cache', [one, one, one]],
    ['no cache', [new PieceCache(0), new PieceCache(0), new PieceCache(0)]],
    ['a stale cache', [a, b, a]],
  ] as const) {
    it(`writes the first slice whole from the tile once a second slice gets events (${mode})`, async () => {
      const stores = await openStores();
      const [c1, c2, c3] = caches;
      await commit(stores, [e1], c1);
      await commit(stores, [e2], c2);
      const [held] = await rows(stores, 'tiles', H);
      assert.deepEqual(await rows(stores, 'slices', 5 * M), [], 'both events in the 12:10 slice: none written yet');
      await commit(stores, [e3], c3);

      const slices = await rows(stores, 'slices', 5 * M);
      assert.deepEqual(slices.map((s) => s.tile_start), [at(10), at(30)]);
      // The first slice holds what the tile held, feature by feature: both its events, once each.
      const { $events: span, ...tileFeatures } = JSON.parse(held!.partial) as Record<string, unknown>;
      assert.deepEqual(span, [e1.time, e2.time]);
      const first = JSON.parse(slices[0]!.partial) as Record<string, unknown>;
      for (const name of ['n', 'total', 'merchants']) assert.deepEqual(first[name], tileFeatures[name], name);
      assert.equal(first.n, 2);
      assert.equal(JSON.parse(slices[1]!.partial).n, 1);
      assert.deepEqual(JSON.parse((await rows(stores, 'tiles', H))[0]!.partial).$events, [e1.time, e3.time]);

      for (const asOf of [at(30, 1), at(33), at(35), at(40), at(59, 59)]) {
        const { values } = await online(stores, asOf);
        assert.deepEqual(daily(values), expected([e1, e2, e3], asOf), `${mode}, at 12:${new Date(asOf).getUTCMinutes()}`);
      }
    });
  }

  it('writes no first slice when the events that spread a tile feed no slices: no read takes it by slices any more', async () => {
    const stores = await openStores();
    await commit(stores, [e1, e2], new PieceCache());
    // Consumed three hours on (a backlog, a backfill): 12:00 is no head tile for any read from then on.
    await commit(stores, [e3], new PieceCache(), at(180));
    assert.deepEqual(await rows(stores, 'slices', 5 * M), []);
    assert.deepEqual(JSON.parse((await rows(stores, 'tiles', H))[0]!.partial).$events, [e1.time, e3.time]);
    assert.deepEqual(daily((await online(stores, at(181))).values), expected([e1, e2, e3], at(181)));
  });

  it('replaces what the first slice row held: the tile holds every event of it', async () => {
    const stores = await openStores();
    await commit(stores, [e1, e2], new PieceCache());
    // A row holding part of the slice's events, as a commit planned from a stale cache may leave.
    const [tile] = await rows(stores, 'tiles', H);
    const { $events: _, ...features } = JSON.parse(tile!.partial) as Record<string, unknown>;
    await stores.offline.query(`insert into skewless."slices_windows" (entity_key, width, tile_start, partial, version) select entity_key, $1, $2, $3, 7 from skewless."tiles_windows" where width = $4`, [
      5 * M,
      at(10),
      JSON.stringify({ ...features, n: 1 }),
      H,
    ]);
    await commit(stores, [e3], new PieceCache());
    const [first] = await rows(stores, 'slices', 5 * M);
    assert.equal(JSON.parse(first!.partial).n, 2, 'the tile count, not 1 + 2');
    assert.deepEqual(daily((await online(stores, at(40))).values), expected([e1, e2, e3], at(40)));
  });

  it('keeps writing the slices of a tile from before spans as events come, and reads it by them', async () => {
    const stores = await openStores();
    await commit(stores, [e1], new PieceCache());
    // As an earlier version left it: no span in the tile, and the slice of its event written.
    const [tile] = await rows(stores, 'tiles', H);
    const { $events: _, ...features } = JSON.parse(tile!.partial) as Record<string, unknown>;
    await stores.offline.query(`update skewless."tiles_windows" set partial = $1 where width = $2`, [JSON.stringify(features), H]);
    await stores.offline.query(`insert into skewless."slices_windows" (entity_key, width, tile_start, partial, version) select entity_key, $1, $2, $3, 1 from skewless."tiles_windows" where width = $4`, [
      5 * M,
      at(10),
      JSON.stringify(Object.fromEntries(['n', 'total', 'merchants'].map((name) => [name, features[name]]))),
      H,
    ]);
    await commit(stores, [e2], new PieceCache());
    const slices = await rows(stores, 'slices', 5 * M);
    assert.deepEqual(slices.map((s) => JSON.parse(s.partial).n), [2], 'merged into the slice row as before spans');
    assert.equal(JSON.parse((await rows(stores, 'tiles', H))[0]!.partial).$events, undefined, 'and the tile still has no span');
    // Online, from the PostgreSQL rows (as an upgrade's rebuild-online writes them): read by its slices.
    for (const asOf of [at(15), at(40)]) assert.deepEqual(daily((await online(stores, asOf)).values), expected([e1, e2], asOf));
  });
});
