/**
 * Heads only for tiles that may straddle a T (tiles.ts, carriesHeads; merge-pieces.ts): while an entity's
 * widest tile holds events of one time, their heads rows wait in its `members` column; the commit that
 * spreads it writes them, however it planned (one piece cache, none, or a stale one). After every step
 * each archived event is in the heads or in its tile's column, never both and never twice, and every
 * value, online and historical, is checked against the events themselves at T on both sides of each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { entityKeyText } from '../../../src/features/keys.ts';
import { backfillView } from '../../../src/materializer/backfill.ts';
import { PieceCache, pieceId } from '../../../src/materializer/piece-cache.ts';
import { carriesHeads, tileGroups } from '../../../src/materializer/tiles.ts';
import { tilesTable } from '../../../src/stores/sql/materializer-tables.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { aggregationValueAt, eventRangeAt } from '../../../src/serving/aggregation-online.ts';
import { offlineAggregationValues } from '../../../src/serving/aggregation-offline.ts';
import type { Stores } from '../../../src/stores/open.ts';
import type { SqlClient } from '../../../src/stores/sql/client.ts';
import type { OnlinePieces } from '../../../src/stores/types.ts';
import { commitProduced, openEmbeddedStores } from '../../helpers/embedded-commits.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
/** 12:00 UTC: the day's tile starts twelve hours before. */
const T0 = Date.UTC(2026, 10, 21, 12);
const at = (minutes: number, seconds = 0) => T0 + minutes * M + seconds * S;

interface Event {
  readonly time: number;
  readonly amount: number;
}

describe('heads only for tiles that may straddle a T', () => {
  let registry: Registry;
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
      "Hops of 10, 20 and 30 minutes: a 20-minute tile is not inside one 30-minute tile, so none carries heads."
      type Odd @featureView(entity: "User", source: "Txn") {
        n: Int! @aggregate(fn: COUNT, window: "1h", hop: "10m")
        total: Float! @aggregate(fn: SUM, of: "amount", window: "2h", hop: "20m")
        most: Float @aggregate(fn: MAX, of: "amount", window: "3h", hop: "30m")
      }
    `);
  });

  after(async () => {
    for (const client of opened) await client.close();
  });

  const openStores = () => openEmbeddedStores(registry, opened);
  const viewOf = (name: string) => registry.view(name) as AggregationView;

  /** Commits events of user u1, produced at their own times, with the materializer's clock just after the last. */
  const commit = (stores: Stores, events: readonly (Event & { readonly user?: string })[], cache: PieceCache) => {
    const produced = events.map((e) => ({ body: { user_id: e.user ?? 'u1', amount: e.amount, at: new Date(e.time).toISOString() }, timestampMs: e.time }));
    return commitProduced(registry, stores, 'txns', produced, counter, Math.max(...events.map((e) => e.time)) + 10 * S, cache);
  };

  const entityKey = () => entityKeyText(registry.entity('User')!, { user_id: 'u1' })!;

  /** Each member's position (`<topic>/<partition>/<offset>`) in a text of members, each followed by a newline. */
  const positions = (text: string) => text.split('\n').filter((m) => m !== '').map((m) => m.slice(m.indexOf(':') + 1, m.indexOf('|')));

  /** The positions of the view's heads, and of its tiles' columns, each sorted. */
  const accounts = async (stores: Stores, view: string) => {
    const heads = await stores.offline.query<{ events: string }>(`select events from skewless."heads_${view}"`);
    const carried = await stores.offline.query<{ members: string }>(`select members from skewless."tiles_${view}" where members is not null`);
    return { heads: heads.flatMap((r) => positions(r.events)).sort(), carried: carried.flatMap((r) => positions(r.members)).sort() };
  };

  /** Every archived event is in the heads or carried, never both, never twice; returns the heads' count. */
  const accountedFor = async (stores: Stores, view: string): Promise<{ heads: number; carried: number }> => {
    const { heads, carried } = await accounts(stores, view);
    const archived = (await stores.offline.query<{ p: string }>(`select _topic || '/' || _partition || '/' || _offset as p from skewless."events_Txn"`)).map((r) => r.p).sort();
    assert.deepEqual([...heads, ...carried].sort(), archived, `${view}: every archived event once, in the heads or a tile's column`);
    return { heads: heads.length, carried: carried.length };
  };

  /** Online (the gateway's read) and historical values of `windows` at T, with what the events give. */
  const check = async (stores: Stores, events: readonly Event[], asOf: number, label: string) => {
    const view = viewOf('windows');
    const [entry] = await stores.online.read([{ view: 'windows', entity: 'User', entityKey: entityKey(), pieces: true, eventRange: eventRangeAt(view, asOf) }]);
    const online = aggregationValueAt(view, entry as OnlinePieces, asOf).values;
    const historical = await offlineAggregationValues(registry, stores.offline, view, { user_id: 'u1' }, asOf);
    const before = events.filter((e) => e.time < asOf);
    const want = { n: before.length, total: before.reduce((sum, e) => sum + e.amount, 0), last: before.length === 0 ? null : Math.max(...before.map((e) => e.time)) };
    assert.deepEqual(online, want, `online at ${new Date(asOf).toISOString()} (${label})`);
    assert.deepEqual(historical, want, `historical at ${new Date(asOf).toISOString()} (${label})`);
  };

  const around = (events: readonly Event[]) => [...new Set(events.flatMap((e) => [e.time - 1, e.time, e.time + 1]))];

  const e1: Event = { time: at(10, 5), amount: 1.5 };
  const twin: Event = { time: at(10, 5), amount: 2.25 };
  const e2: Event = { time: at(12), amount: 4 };
  const later: Event = { time: at(123), amount: 8 };

  const one = new PieceCache();
  const [a, b] = [new PieceCache(), new PieceCache()];
  for (const [mode, caches] of [
    ['one cache', [one, one, one]],
    ['no cache', [new PieceCache(0), new PieceCache(0), new PieceCache(0)]],
    ['a stale cache', [a, b, a]],
  ] as const) {
    it(`writes a tile's heads only once it holds two times (${mode})`, async () => {
      const stores = await openStores();
      const [c1, c2, c3] = caches;
      await commit(stores, [e1, twin], c1);
      assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 0, carried: 2 }, 'two events at one time: carried by the day tile');
      for (const asOf of [...around([e1]), at(30)]) await check(stores, [e1, twin], asOf, 'one time');

      await commit(stores, [e2], c2);
      assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 3, carried: 0 }, 'the day spreads: all three in the heads');
      for (const asOf of [...around([e1, e2]), at(11), at(40)]) await check(stores, [e1, twin, e2], asOf, 'two times');

      await commit(stores, [later], c3);
      assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 4, carried: 0 }, 'a spread day: heads at once');
      for (const asOf of [...around([later]), at(150)]) await check(stores, [e1, twin, e2, later], asOf, 'another hour');
      // The other view's tiles do not nest: every event's heads from its commit.
      assert.deepEqual(await accountedFor(stores, 'odd'), { heads: 4, carried: 0 });
    });
  }

  it('carries heads in the widest tiles only when every hop and the heads bucket divide theirs', () => {
    assert.equal(carriesHeads(viewOf('windows')), D);
    assert.equal(carriesHeads(viewOf('odd')), undefined);
    assert.deepEqual(tileGroups(viewOf('windows')).map((g) => g.carries), [false, true]);
  });

  it('writes an event once when its hour spreads after its day did', async () => {
    const stores = await openStores();
    const first = { time: at(-120), amount: 3 };
    const afternoon = { time: at(120), amount: 5 };
    const next = { time: at(-105), amount: 7 };
    await commit(stores, [first], new PieceCache(0));
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 0, carried: 1 });
    // The day spreads (its 10:00 hour still holds one time): the first event's heads are written.
    await commit(stores, [afternoon], new PieceCache(0));
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 2, carried: 0 });
    // Now the 10:00 hour spreads: its first event is in the heads already, and stays there once.
    await commit(stores, [next], new PieceCache(0));
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 3, carried: 0 });
    for (const asOf of [...around([first, afternoon, next]), at(-60), at(180)]) await check(stores, [first, afternoon, next], asOf, 'an hour spread after its day');
  });

  it('carries one event per day while each day holds one time, and writes them as each day spreads', async () => {
    const stores = await openStores();
    // 23:00 and 01:00: two days' tiles, an hour either side of midnight.
    const days = [{ time: at(-13 * 60), amount: 1 }, { time: at(-11 * 60), amount: 2 }];
    await commit(stores, days, new PieceCache());
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 0, carried: 2 });
    const spreads = { time: days[0]!.time + M, amount: 8 };
    await commit(stores, [spreads], new PieceCache());
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 2, carried: 1 }, "only the spread day's events go to the heads");
    const all = [...days, spreads];
    for (const asOf of [...around(all), at(-12 * 60)]) await check(stores, all, asOf, 'two days');
  });

  it('fails the commit with CORRUPT_HEAD when a carried column is damaged, keeping nothing of it', async () => {
    const stores = await openStores();
    await commit(stores, [e1], new PieceCache());
    await stores.offline.query(`update skewless."tiles_windows" set members = 'not-a-member' || chr(10) where members is not null`);
    await assert.rejects(commit(stores, [e2], new PieceCache()), (error: Error & { code?: string }) => error.code === 'CORRUPT_HEAD' && error.message.includes('windows'));
    const [archived] = await stores.offline.query<{ n: number }>(`select count(*)::int as n from skewless."events_Txn"`);
    assert.equal(archived!.n, 1, 'the failed commit archived nothing');
    const carried = await stores.offline.query<{ members: string }>(`select members from skewless."tiles_windows" where members is not null`);
    assert.deepEqual(carried.map((r) => r.members), ['not-a-member\n'], 'nor changed the tile');
  });

  it('backfills a carried day whole: its column emptied, its events in the heads once, a day outside the range left carrying', async () => {
    const stores = await openStores();
    const dayBefore = { time: at(0) - D, amount: 2 };
    await commit(stores, [e1, twin, dayBefore], new PieceCache());
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 0, carried: 3 });
    // A range of ten minutes of today, an hour after the events: the whole day's tile is recomputed, so all
    // of today's heads are rewritten, not only the hour's.
    await backfillView(registry, stores, viewOf('windows'), { range: { from: at(60), to: at(70) }, chunkEvents: 2, now: at(80) });
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 2, carried: 1 }, "today's events in the heads, the day before still carried");
    const all = [e1, twin, dayBefore];
    for (const asOf of [...around(all), at(30)]) await check(stores, all, asOf, 'after a backfill');
    // And a commit after it spreads the day before: its carried event joins the heads, once.
    const spreads = { time: dayBefore.time + M, amount: 3 };
    await commit(stores, [spreads], new PieceCache());
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 4, carried: 0 });
    for (const asOf of around([dayBefore, spreads])) await check(stores, [...all, spreads], asOf, 'the day before spread');
  });

  it('writes the heads a running materializer carried in a tile the backfill then merges into', async () => {
    const stores = await openStores();
    await commit(stores, [e1], new PieceCache());
    // Between the backfill's reset and its first chunk: a commit carries twin in the reset day tile.
    let committed = false;
    const onProgress = async () => {
      if (committed) return;
      committed = true;
      await commit(stores, [twin], new PieceCache());
    };
    let pending: Promise<void> | undefined;
    await backfillView(registry, stores, viewOf('windows'), { chunkEvents: 10, now: at(30), onProgress: () => void (pending ??= onProgress()) });
    await pending;
    assert.ok(committed);
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 2, carried: 0 }, "the backfill's merge flushed the tile: twin's heads written");
  });

  it('flushes a tile whose heads went before the fold, though it holds one time', async () => {
    const stores = await openStores();
    // A cache that says the entity's day tile was left spread (wrongly: it has no row yet).
    const cache = new PieceCache();
    const [, day] = tileGroups(viewOf('windows'));
    cache.noteSpread(day!, entityKey(), Math.floor(e1.time / D) * D);
    // Another user's event in the same batch: not sent before the fold, carried.
    await commit(stores, [{ ...e2, user: 'u2' }, e1], cache);
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 1, carried: 1 });
    const [u1] = await stores.offline.query<{ entity_key: string }>(`select entity_key from skewless."heads_windows"`);
    assert.equal(u1!.entity_key, entityKey());
    for (const asOf of around([e1])) await check(stores, [e1], asOf, 'sent before the fold');
  });

  it('keeps a tile planned to flush flushed when its stored span turns out one time', async () => {
    const stores = await openStores();
    await commit(stores, [e1], new PieceCache());
    // A cache that says the day tile holds two times, at a version the row does not have: the plan flushes
    // (and sends twin's heads at once); the row, read under its lock, holds one time.
    const cache = new PieceCache();
    const [, day] = tileGroups(viewOf('windows'));
    const start = Math.floor(e1.time / D) * D;
    cache.remember(pieceId(tilesTable('windows'), entityKey(), D, start), { version: 99, states: day!.aggregators.map((a) => a.empty()), span: { lo: e1.time - M, hi: e1.time } });
    await commit(stores, [twin], cache);
    assert.deepEqual(await accountedFor(stores, 'windows'), { heads: 2, carried: 0 });
    for (const asOf of around([e1])) await check(stores, [e1, twin], asOf, 'flushed early');
  });
});
