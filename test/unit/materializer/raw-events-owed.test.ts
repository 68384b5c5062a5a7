/**
 * Raw events online only for tiles that may straddle a T (raw-events-owed.ts): a commit writes no raw event
 * of an entity whose tiles each hold events of one time, and once a tile holds a second time, the events of
 * its first are read back from the heads and written with it, however the commit planned (one piece cache,
 * none, or a stale one). Every value is checked against the events themselves, at T on both sides of each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { entityKeyText } from '../../../src/features/keys.ts';
import { PieceCache } from '../../../src/materializer/piece-cache.ts';
import { mayStraddle } from '../../../src/features/aggregate/event-span.ts';
import type { EventSpan } from '../../../src/features/aggregate/event-span.ts';
import type { MergedPiece } from '../../../src/materializer/merge-pieces.ts';
import { entitiesHeldRaw, spreadTimes } from '../../../src/materializer/raw-events-owed.ts';
import { tileGroups } from '../../../src/materializer/tiles.ts';
import type { PieceGroup } from '../../../src/materializer/tiles.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { aggregationValueAt, eventRangeAt } from '../../../src/serving/aggregation-online.ts';
import { offlineAggregationValues } from '../../../src/serving/aggregation-offline.ts';
import type { Stores } from '../../../src/stores/open.ts';
import { parseOnlineEvent } from '../../../src/stores/online-pieces.ts';
import type { SqlClient } from '../../../src/stores/sql/client.ts';
import type { OnlinePieces } from '../../../src/stores/types.ts';
import { H, M, T0, at, commitAtTheirTimes, openEmbeddedStores } from '../../helpers/embedded-commits.ts';
import { registryFromSdl } from '../../helpers/repos.ts';


interface Event {
  readonly time: number;
  readonly amount: number;
}
const e1: Event = { time: at(10, 5), amount: 1.5 };
const twin: Event = { time: at(10, 5), amount: 2.25 };
const e2: Event = { time: at(12), amount: 4 };
/** Two hours on, the same day: the 1 d tile is spread, the 1 h tile of 14:00 holds one time. */
const later: Event = { time: at(123), amount: 8 };

describe('raw events online only for tiles that may straddle a T', () => {
  let registry: Registry;
  let view: AggregationView;
  const opened: SqlClient[] = [];
  const counter = { offset: 0 };

  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type Windows @featureView(entity: "User", source: "Txn") {
        n: Int! @aggregate(fn: COUNT, window: "24h", slice: "5m")
        total: Float! @aggregate(fn: SUM, of: "amount", window: "24h", slice: "5m")
        last: DateTime @aggregate(fn: LAST, of: "at", window: "30d")
      }
    `);
    view = registry.view('windows') as AggregationView;
  });

  after(async () => {
    for (const client of opened) await client.close();
  });

  const openStores = () => openEmbeddedStores(registry, opened);

  /** Commits events of user u1, produced at their own times, with the materializer's clock just after the last. */
  const commit = (stores: Stores, events: readonly Event[], cache: PieceCache) =>
    commitAtTheirTimes(registry, stores, 'txns', events, (e) => ({ user_id: 'u1', amount: e.amount, at: new Date(e.time).toISOString() }), counter, cache);

  const entityKey = () => entityKeyText(registry.entity('User')!, { user_id: 'u1' })!;

  /** The times of the raw events the online store holds for u1, sorted. */
  const heldTimes = async (stores: Stores) => {
    const [entry] = await stores.online.read([{ view: 'windows', entity: 'User', entityKey: entityKey(), pieces: true, eventRange: { from: T0 - H, to: T0 + 4 * H, bucketMs: 5 * M } }]);
    return (entry as OnlinePieces).events.map((m) => parseOnlineEvent(m)!.time).sort((a, b) => a - b);
  };

  /** Online (the gateway's read) and historical values at T, with what the events give. */
  const check = async (stores: Stores, events: readonly Event[], asOf: number, label: string) => {
    const [entry] = await stores.online.read([{ view: 'windows', entity: 'User', entityKey: entityKey(), pieces: true, eventRange: eventRangeAt(view, asOf) }]);
    const online = aggregationValueAt(view, entry as OnlinePieces, asOf).values;
    const historical = await offlineAggregationValues(registry, stores.offline, view, { user_id: 'u1' }, asOf);
    const before = events.filter((e) => e.time < asOf);
    const want = { n: before.length, total: before.reduce((sum, e) => sum + e.amount, 0), last: before.length === 0 ? null : Math.max(...before.map((e) => e.time)) };
    assert.deepEqual(online, want, `online at ${new Date(asOf).toISOString()} (${label})`);
    assert.deepEqual(historical, want, `historical at ${new Date(asOf).toISOString()} (${label})`);
  };

  const around = (events: readonly Event[]) => [...new Set(events.flatMap((e) => [e.time - 1, e.time, e.time + 1]))];

  const one = new PieceCache();
  const [a, b] = [new PieceCache(), new PieceCache()];
  for (const [mode, caches] of [
    ['one cache', [one, one, one]],
    ['no cache', [new PieceCache(0), new PieceCache(0), new PieceCache(0)]],
    ['a stale cache', [a, b, a]],
  ] as const) {
    it(`holds a tile's events raw only once it holds two times, the first read back from the heads (${mode})`, async () => {
      const stores = await openStores();
      const [c1, c2, c3] = caches;
      await commit(stores, [e1, twin], c1);
      assert.deepEqual(await heldTimes(stores), [], 'two events at one time: no raw event online');
      for (const asOf of [...around([e1]), at(30)]) await check(stores, [e1, twin], asOf, 'one time');

      await commit(stores, [e2], c2);
      assert.deepEqual(await heldTimes(stores), [e1.time, e1.time, e2.time], 'both events of the first time, read back, and the new one');
      for (const asOf of [...around([e1, e2]), at(11), at(40)]) await check(stores, [e1, twin, e2], asOf, 'two times');

      // Two hours on, the same day: its 1 h tile holds one time, but the day's tile is spread, so the event
      // is held raw. The earlier ones' buckets have expired by then: no read reaches them.
      await commit(stores, [later], c3);
      assert.deepEqual(await heldTimes(stores), [later.time]);
      for (const asOf of [...around([later]), at(150)]) await check(stores, [e1, twin, e2, later], asOf, 'another hour');
    });
  }

  it('reads back the first event when the next hour spreads the day: the hour tiles each hold one time', async () => {
    const stores = await openStores();
    const [first, next] = [{ time: at(59, 50), amount: 3 }, { time: at(60, 10), amount: 5 }];
    await commit(stores, [first], new PieceCache());
    assert.deepEqual(await heldTimes(stores), []);
    await commit(stores, [next], new PieceCache(0));
    assert.deepEqual(await heldTimes(stores), [first.time, next.time], "the day's tile holds two times: both held raw");
    for (const asOf of [...around([first, next]), at(61)]) await check(stores, [first, next], asOf, 'a day of two hours');
  });

  it('fails the online write with CORRUPT_HEAD when the heads row it reads back is damaged, keeping the commit', async () => {
    const stores = await openStores();
    await commit(stores, [e1], new PieceCache());
    await stores.offline.query(`update skewless."heads_windows" set events = 'not-a-member' || chr(10)`);
    await assert.rejects(commit(stores, [e2], new PieceCache()), (error: Error & { code?: string }) => error.code === 'CORRUPT_HEAD' && error.message.includes('windows'));
    // Committed offline all the same: the archive and the tile hold the event, and the outbox owes the entity.
    const [archived] = await stores.offline.query<{ n: number }>(`select count(*)::int as n from skewless."events_Txn"`);
    assert.equal(archived!.n, 2);
    const [tile] = await stores.offline.query<{ partial: string }>(`select partial from skewless."tiles_windows" where width = $1`, [H]);
    assert.deepEqual(JSON.parse(tile!.partial).$events, [e1.time, e2.time]);
    const [owed] = await stores.offline.query<{ n: number }>(`select count(*)::int as n from skewless.online_owed`);
    assert.ok(owed!.n > 0, 'the outbox still owes the online write');
  });

  it('holds raw the events of an entity with a tile that may straddle, and reads back each earlier time once', () => {
    const [hourGroup, dayGroup] = tileGroups(view);
    const single = { lo: e1.time, hi: e1.time };
    const spread = { lo: e1.time, hi: e2.time };
    const none = { lo: Infinity, hi: -Infinity };
    const tile = (group: PieceGroup, entityKey: string, span: EventSpan | undefined, prior: EventSpan | undefined): MergedPiece => ({
      group,
      piece: { entityKey, width: group.widthMs, start: Math.floor(e1.time / group.widthMs) * group.widthMs, version: 1 },
      states: [],
      text: '{}',
      span,
      prior,
      id: entityKey,
      keep: false,
    });
    const merged = [
      tile(hourGroup!, 'new', single, none),
      tile(dayGroup!, 'new', single, none),
      tile(hourGroup!, 'spread', single, single),
      tile(dayGroup!, 'spread', spread, single),
      tile(hourGroup!, 'both', spread, single),
      tile(dayGroup!, 'both', spread, single),
      tile(hourGroup!, 'old', undefined, undefined),
      tile(dayGroup!, 'busy', spread, spread),
    ];
    assert.deepEqual([...entitiesHeldRaw(merged).get(view)!].sort(), ['both', 'busy', 'old', 'spread']);
    assert.deepEqual(spreadTimes(merged).get(view), [{ entityKey: 'spread', time: e1.time }, { entityKey: 'both', time: e1.time }], 'each (entity, time) once');
    assert.equal(mayStraddle(undefined), true);
    assert.equal(mayStraddle(single), false);
    assert.equal(mayStraddle(none), false);
  });
});
