/**
 * Aggregation views online, on given stores: a seeded stream of events (on time, late by hours, dated a
 * little ahead) is committed batch by batch through the materializer's own commit, as the clock moves.
 * After each batch the gateway's read path (onlineFrame) answers at T = the batch's clock minus up to a
 * minute, and every feature of every user must equal, bit for bit, `valueAt` over the raw events that had
 * arrived with event time before T — the oracle. Values decay (T moves with no new events for a user), a
 * tile touched by a late event is updated, and a rebuild from PostgreSQL after the online store lost
 * everything gives the same values.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from 'graphql';
import { valueAt } from '../../src/features/aggregate/finalize.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { DEFAULT_TIME_BOUNDS } from '../../src/materializer/batch.ts';
import { commitBatch } from '../../src/materializer/commit.ts';
import { decodeMessage, topicRoutes } from '../../src/materializer/decode.ts';
import type { RawMessage } from '../../src/materializer/decode.ts';
import { pruneBounds } from '../../src/materializer/online-retention.ts';
import { rebuildOnline } from '../../src/materializer/online-sync.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { AggregationView } from '../../src/registry/types.ts';
import { createServingContext } from '../../src/serving/context.ts';
import { servedValue } from '../../src/serving/frame.ts';
import { historicalFrame } from '../../src/serving/historical-frame.ts';
import { onlineFrame } from '../../src/serving/online-frame.ts';
import { onlineKeyOf } from '../../src/serving/value-at.ts';
import { onlineKey } from '../../src/features/keys.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { encodePiece, eventKeysPattern, parseOnlineEvent, tileField } from '../../src/stores/online-pieces.ts';
import type { Stores } from '../../src/stores/open.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { random } from '../helpers/random.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { uniqueName } from '../helpers/services.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const LIMITS = { maxEntities: 1000, maxPushRows: 10_000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000 };

export interface AggEvent {
  readonly user: string;
  readonly eventTs: number;
  readonly messageTs: number;
  readonly fields: Record<string, unknown>;
}

/**
 * A source and a view using every aggregate function over three windows (hops 1m, 5m, 1h), a count over a
 * 30-second hop (whose 1s slices are the 1m hop's: one slice group, one row), a sum over a 1-day hop, and
 * features with slices other than the default: 1m slices of a 5m hop, 10s slices of a 1m hop, and a 1h hop
 * whose head is not sliced at all (slice = hop: a read folds the whole head tile's raw events). A 1h count
 * shares the 6h features' 5m hop, so their tile rows are read over the union of two windows historically.
 */
export function aggregationSdl(id: string): string {
  return `type User @entity(key: ["user_id"]) { user_id: ID! }
    type Src${id} @source(topic: "${id}_events", timestamp: "at") { user_id: ID! amount: Float! merchant: String! qty: Int at: DateTime! }
    type W${id} @featureView(entity: "User", source: "Src${id}", name: "${id}_w") {
      c30m: Int! @aggregate(fn: COUNT, window: "30m")
      s30m: Float! @aggregate(fn: SUM, of: "amount", window: "30m")
      min30m: Float @aggregate(fn: MIN, of: "amount", window: "30m")
      last30m: DateTime @aggregate(fn: LAST, of: "at", window: "30m")
      avg6h: Float @aggregate(fn: AVG, of: "amount", window: "6h")
      max6h: Float @aggregate(fn: MAX, of: "amount", window: "6h")
      sd6h: Float @aggregate(fn: STDDEV, of: "amount", window: "6h")
      var6h: Float @aggregate(fn: VARIANCE, of: "amount", window: "6h")
      first6h: String @aggregate(fn: FIRST, of: "merchant", window: "6h")
      qty3d: Int! @aggregate(fn: SUM, of: "qty", window: "3d")
      dm3d: Int! @aggregate(fn: COUNT_DISTINCT, of: "merchant", window: "3d")
      adm3d: Int! @aggregate(fn: APPROX_COUNT_DISTINCT, of: "merchant", window: "3d")
      p90_3d: Float @aggregate(fn: APPROX_PERCENTILE, of: "amount", window: "3d", percentile: 0.9)
      c2m: Int! @aggregate(fn: COUNT, window: "2m", hop: "30s")
      s30d: Float! @aggregate(fn: SUM, of: "amount", window: "30d")
      c6h_1m: Int! @aggregate(fn: COUNT, window: "6h", slice: "1m")
      dm30m_10s: Int! @aggregate(fn: COUNT_DISTINCT, of: "merchant", window: "30m", slice: "10s")
      s3d_whole: Float! @aggregate(fn: SUM, of: "amount", window: "3d", slice: "1h")
      c1h_5m: Int! @aggregate(fn: COUNT, window: "1h", hop: "5m")
    }`;
}

/**
 * Events from `start` for `spanMs` of message time: mostly on time (up to 20 s behind their message),
 * some late by up to 5 hours, some dated up to 50 s ahead; sorted by message time.
 */
export function eventStream(seed: number, users: readonly string[], start: number, spanMs: number, count: number): AggEvent[] {
  const rnd = random(seed);
  const events: AggEvent[] = [];
  for (let i = 0; i < count; i++) {
    const messageTs = start + Math.floor(rnd() * spanMs);
    const kind = rnd();
    const eventTs = kind < 0.08 ? messageTs - Math.floor(rnd() * 5 * HOUR) : kind < 0.14 ? messageTs + Math.floor(rnd() * 50 * SEC) : messageTs - Math.floor(rnd() * 20 * SEC);
    const user = users[Math.floor(rnd() ** 2 * users.length)]!;
    const fields = { user_id: user, amount: Math.round(rnd() * 100_000) / 100 - (rnd() < 0.05 ? 500 : 0), merchant: `m${Math.floor(rnd() * 12)}`, qty: rnd() < 0.2 ? null : Math.floor(rnd() * 5), at: eventTs };
    events.push({ user, eventTs, messageTs, fields });
  }
  return events.sort((a, b) => a.messageTs - b.messageTs);
}

/** Commits events as the Kafka consumer would, one "partition", offsets continuing from `firstOffset`. */
export async function commitEvents(registry: Registry, stores: Stores, topic: string, events: readonly AggEvent[], firstOffset: number, now: number): Promise<void> {
  const route = topicRoutes(registry).get(topic)!;
  const messages: RawMessage[] = events.map((e, i) => ({ topic, partition: 0, offset: firstOffset + i, value: JSON.stringify(e.fields), timestampMs: e.messageTs }));
  const decoded = messages.map((m) => decodeMessage(registry, route, m));
  const result = await commitBatch(registry, stores, `${topic}_group`, messages, decoded, DEFAULT_TIME_BOUNDS, now);
  assert.deepEqual(result.dead, [], 'no event is refused');
}

/** Each feature's value at T over the given events (those with event time before T count), as served. */
export function oracle(view: AggregationView, events: readonly AggEvent[], asOf: number): unknown[] {
  const raw = events.map((e) => ({ time: e.eventTs, row: e.fields }));
  return view.features.map((f) => servedValue(f, valueAt(f, [], raw, asOf)));
}

export function aggregationOnlineSuite(name: string, openStores: () => Promise<Stores>): void {
  describe(`aggregation views online: ${name}`, () => {
    const id = uniqueName('agg');
    const topic = `${id}_events`;
    const users = Array.from({ length: 8 }, (_, u) => `${id}-u${u}`);
    let stores: Stores;
    let registry: Registry;
    let view: AggregationView;
    const online = async (asOf: number, who: readonly string[] = users) => {
      const ctx = createServingContext({ registry, stores, limits: LIMITS, now: () => asOf });
      const frame = await onlineFrame(ctx, { features: [view.name], entities: who.map((u) => ({ user_id: u })) });
      assert.deepEqual(frame.errors, []);
      assert.ok(frame.statuses.every((row) => row.slice(1).every((s) => s === 'PRESENT')));
      return frame.rows.map((row) => row.slice(1));
    };

    before(async () => {
      stores = await openStores();
      registry = await registryFromSdl(aggregationSdl(id));
      view = registry.view(`${id}_w`) as AggregationView;
      await stores.offline.ensureSchema(registry);
    });
    after(async () => {
      await stores.online.close();
      await stores.offline.close();
    });

    it('serves every aggregate at T equal to valueAt over the events arrived by then, batch after batch, and equal to historicalFeatures at T', async () => {
      // Simulated clock: two days of history, then three hours consumed in 10-minute batches.
      const start = Math.floor((Date.now() - 4 * HOUR) / MIN) * MIN + 17 * SEC;
      const history = eventStream(1, users, start - 2 * 24 * HOUR, 2 * 24 * HOUR, 600);
      const live = eventStream(2, users, start, 3 * HOUR, 900);
      const rnd = random(3);
      let offset = 0;
      await commitEvents(registry, stores, topic, history, offset, start);
      offset += history.length;
      const arrived = [...history];
      let compared = 0;
      const samples: { now: number; asOf: number; served: unknown[][] }[] = [];
      for (let from = start; from < start + 3 * HOUR; from += 10 * MIN) {
        const batch = live.filter((e) => e.messageTs >= from && e.messageTs < from + 10 * MIN);
        const now = from + 10 * MIN;
        await commitEvents(registry, stores, topic, batch, offset, now);
        offset += batch.length;
        arrived.push(...batch);
        // T a little behind the materializer's clock, as a gateway's may be; never on a round number.
        const asOf = now - Math.floor(rnd() * 60 * SEC);
        const served = await online(asOf);
        users.forEach((user, u) => {
          const want = oracle(view, arrived.filter((e) => e.user === user), asOf);
          view.features.forEach((f, i) => assert.ok(Object.is(served[u]![i], want[i]), `${user} ${f.name} at ${new Date(asOf).toISOString()}: online ${String(served[u]![i])}, oracle ${String(want[i])}`));
          compared += view.features.length;
        });
        samples.push({ now, asOf, served });
      }
      assert.equal(compared, 18 * users.length * view.features.length);

      // Parity: the training path at the same T, computed afterwards from PostgreSQL's tiles and archive.
      // It sees every event dated before T, including late ones that arrived after the online read; where
      // none did, online at T and historical at T must be the same values.
      const ctx = createServingContext({ registry, stores, limits: LIMITS });
      const historical = await historicalFrame(ctx, { features: [view.name], entities: samples.flatMap((s) => users.map((u) => ({ user_id: u, event_timestamp: s.asOf }))) });
      assert.deepEqual(historical.errors, []);
      let parity = 0;
      samples.forEach((sample, k) => {
        users.forEach((user, u) => {
          const row = historical.rows[k * users.length + u]!.slice(2);
          const mine = live.concat(history).filter((e) => e.user === user);
          assert.deepEqual(row, oracle(view, mine, sample.asOf), `${user} at ${new Date(sample.asOf).toISOString()}: historical equals valueAt over every event before T`);
          const lateArrival = mine.some((e) => e.eventTs < sample.asOf && e.messageTs >= sample.now);
          if (lateArrival) return;
          view.features.forEach((f, i) => assert.ok(Object.is(row[i], sample.served[u]![i]), `${user} ${f.name} at ${new Date(sample.asOf).toISOString()}: historical ${String(row[i])}, online ${String(sample.served[u]![i])}`));
          parity++;
        });
      });
      // Late events (8% of the stream, up to 5 h late) rule many samples out; the rest must still be plenty.
      assert.ok(parity >= 30, `online and historical compared for ${parity} of ${samples.length * users.length} (user, T) samples`);
    });

    it('decays with no new events: the same pieces give smaller windows as T moves on', async () => {
      const user = `${id}-quiet`;
      const t0 = Math.floor((Date.now() - HOUR) / MIN) * MIN;
      const events: AggEvent[] = [0, 1, 2].map((k) => ({ user, eventTs: t0 + k * 5 * MIN, messageTs: t0 + k * 5 * MIN + SEC, fields: { user_id: user, amount: 10 + k, merchant: `m${k}`, qty: 1, at: t0 + k * 5 * MIN } }));
      await commitEvents(registry, stores, topic, events, 100_000, t0 + 11 * MIN);
      const c30m = view.features.findIndex((f) => f.name === 'c30m');
      const counts = [];
      for (const asOf of [t0 + 11 * MIN, t0 + 32 * MIN, t0 + 37 * MIN, t0 + 42 * MIN]) {
        const [values] = await online(asOf, [user]);
        assert.deepEqual(values, oracle(view, events, asOf));
        counts.push(values![c30m]);
      }
      assert.deepEqual(counts, [3, 2, 1, 0]);
    });

    it("reads a busy entity's raw events of T's slice alone, not those it keeps for the clock slack, equal to the oracle", async () => {
      // 3,000 events in the last four minutes, each on time: every one feeds the slices and is kept raw
      // online for the clock slack, yet a read must fetch only the buckets of the view's range at T.
      const user = `${id}-busy`;
      const now = Date.now();
      const rnd = random(7);
      const events: AggEvent[] = Array.from({ length: 3000 }, () => {
        const eventTs = now - 4 * MIN + Math.floor(rnd() * 4 * MIN);
        return { user, eventTs, messageTs: eventTs + 150, fields: { user_id: user, amount: Math.round(rnd() * 10_000) / 100, merchant: `m${Math.floor(rnd() * 40)}`, qty: 1, at: eventTs } };
      }).sort((a, b) => a.messageTs - b.messageTs);
      await commitEvents(registry, stores, topic, events, 200_000, now);
      for (const asOf of [now, now - 17, now - 40 * SEC - 333, now - 100 * SEC - 999]) {
        const [values] = await online(asOf, [user]);
        view.features.forEach((f, i) => assert.ok(Object.is(values![i], oracle(view, events, asOf)[i]), `${f.name} at ${new Date(asOf).toISOString()}`));
        const key = onlineKeyOf(view, 'User', user, asOf);
        const [entry] = await stores.online.read([key]);
        assert.ok(entry !== null && entry !== undefined && !(entry instanceof Error) && 'events' in entry);
        const { from, bucketMs } = key.eventRange!;
        // The view's widest raw-event width is s3d_whole's, whose head is not sliced (slice = hop = 1h). Its
        // other widths (24m, 1m, …) need not nest in it: the range may start before floor_1h(T) (at 03:10 the
        // 24m slice began at 02:48), but never a whole hour or more before T.
        assert.ok(from > asOf - HOUR, "no wider than the view's widest slice");
        // The store returns the buckets holding the range, each event once: every event of the range, and
        // none of those it keeps outside the range's buckets (the clock slack's, most of them).
        const times = entry.events.map((m) => parseOnlineEvent(m)!.time);
        assert.equal(new Set(entry.events).size, entry.events.length, 'each event once');
        assert.equal(times.filter((t) => t >= from && t < asOf).length, events.filter((e) => e.eventTs >= from && e.eventTs < asOf).length, 'the store returns the events of the range');
        const [first, end] = [Math.floor(from / bucketMs) * bucketMs, Math.ceil(asOf / bucketMs) * bucketMs];
        assert.ok(times.every((t) => t >= first && t < end), "and only events of the range's buckets");
      }
    });

    it('answers a corrupt online piece with a coded error for that view only, and keeps serving', async () => {
      const [bad, good] = [`${id}-corrupt`, users[0]!];
      const asOf = Date.now();
      const tile = Math.floor((asOf - 10 * MIN) / MIN) * MIN;
      const prune = pruneBounds(view, asOf);
      await stores.online.writePieces([{ view: view.name, entity: 'User', entityKey: bad, pieces: true, fields: [{ name: tileField(view.features.find((f) => f.name === 'c30m')!.aggregation!.hopMs, tile), value: encodePiece(1, '{not json') }], events: [], prune }]);
      const ctx = createServingContext({ registry, stores, limits: LIMITS, now: () => asOf });
      const frame = await onlineFrame(ctx, { features: [view.name], entities: [{ user_id: bad }, { user_id: good }] });
      assert.deepEqual(frame.errors.map((e) => [e.view, e.code, e.rows]), [[view.name, 'ONLINE_VALUE_CORRUPT', [0]]]);
      assert.ok(frame.statuses[0]!.slice(1).every((s) => s === 'ERROR'));
      assert.ok(frame.statuses[1]!.slice(1).every((s) => s === 'PRESENT'), 'the other entity is served');
    });

    it('refuses pieces in the per-feature layout of earlier versions with a coded error naming the fix', async () => {
      const [old, good] = [`${id}-old-layout`, users[0]!];
      const asOf = Date.now();
      const tile = Math.floor((asOf - 10 * MIN) / MIN) * MIN;
      await stores.online.writePieces([{ view: view.name, entity: 'User', entityKey: old, pieces: true, fields: [{ name: `T:c30m:${tile}`, value: encodePiece(1, '{"n":1}') }], events: [], prune: pruneBounds(view, asOf) }]);
      const ctx = createServingContext({ registry, stores, limits: LIMITS, now: () => asOf });
      const frame = await onlineFrame(ctx, { features: [view.name], entities: [{ user_id: old }, { user_id: good }] });
      assert.deepEqual(frame.errors.map((e) => [e.view, e.code, e.rows]), [[view.name, 'ONLINE_LAYOUT_OUTDATED', [0]]]);
      assert.match(frame.errors[0]!.message, /rebuild-online/);
      assert.ok(frame.statuses[1]!.slice(1).every((s) => s === 'PRESENT'), 'the other entity is served');
    });

    it('rebuilds the online store from PostgreSQL after it lost everything', async () => {
      const asOf = Date.now();
      const before = await online(asOf);
      const dm3d = view.features.findIndex((f) => f.name === 'dm3d');
      assert.ok(before.every((row) => (row[dm3d] as number) > 0), 'every user has events in the 3-day window');
      stores = await forget(stores, view.name, users);
      const empty = await online(asOf);
      assert.ok(empty.every((row) => row[dm3d] === 0), 'nothing is left online');
      const written = await rebuildOnline(registry, stores, () => {}, asOf);
      assert.ok(written >= users.length);
      assert.deepEqual(await online(asOf), before);

      // The typed fields read the same pieces through the same loader: equal values at the same T.
      const typed = await graphql({
        schema: buildSchema(registry),
        source: `query ($ids: [ID!]!) { users(user_id: $ids) { ${view.name} { ${view.features.map((f) => f.name).join(' ')} _meta { status } } } }`,
        variableValues: { ids: users },
        contextValue: createServingContext({ registry, stores, limits: LIMITS, now: () => asOf }),
      });
      assert.equal(typed.errors, undefined, JSON.stringify(typed.errors));
      const typedRows = (typed.data!.users as Record<string, Record<string, unknown>>[]).map((u) => view.features.map((f) => u[view.name]![f.name]));
      assert.deepEqual(typedRows, before);
    });
  });
}

/**
 * The online store without these users' pieces, as after FLUSHALL: their keys deleted from Redis (other
 * tests share the server), or a new embedded store.
 */
async function forget(stores: Stores, view: string, users: readonly string[]): Promise<Stores> {
  if (stores.online instanceof RedisOnlineStore) {
    const { client } = stores.online;
    // The hash, and its raw events: buckets and the sorted set of earlier versions (`<hash>:events…`).
    for (const hash of users.map((u) => onlineKey('User', u, view))) await client.del(hash, ...(await client.keys(eventKeysPattern(hash))));
    return stores;
  }
  return { ...stores, online: new MemoryOnlineStore() };
}
