import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { onlineKey } from '../../src/features/keys.ts';
import { encodePiece, eventBucketKey, eventsKey, onlineEvent, tileField } from '../../src/stores/online-pieces.ts';
import type { OnlineEvent, PiecesWrite, PruneBounds } from '../../src/stores/online-pieces.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { RAW_EVENTS_IN_BUCKETS, RAW_EVENTS_LAYOUT_KEY, RAW_EVENTS_LAYOUT_REFRESH_MS } from '../../src/stores/redis/sorted-sets.ts';
import { serviceUrl } from '../helpers/services.ts';
import { onlineStoreContract } from './online-store.contract.ts';

onlineStoreContract('Redis (real server)', {
  open: async () => {
    const store = new RedisOnlineStore(serviceUrl('REDIS_URL'));
    await store.waitUntilReady();
    return store;
  },
});

/**
 * Redis's own layout (online-pieces.ts): the hash's expiry is set only when a write prunes, raw events go
 * to buckets that expire by themselves, and the sorted set earlier versions kept is still read and pruned.
 */
describe('Redis pieces expiry and event buckets', () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const [EVERY, EXPIRE, HOP, BUCKET, SLACK] = [60_000, 86_400_000, 600_000, 300_000, 120_000];
  const prune = (now: number, eventFrom: number): PruneBounds => ({
    now,
    everyMs: EVERY,
    pieces: [{ kind: 'T', width: HOP, from: now - 3_600_000 }],
    eventFrom,
    eventBucketMs: BUCKET,
    eventWidths: [BUCKET],
    eventSlackMs: SLACK,
    expireMs: EXPIRE,
  });
  let store: RedisOnlineStore;
  let redis: Redis;
  before(async () => {
    store = new RedisOnlineStore(serviceUrl('REDIS_URL'));
    await store.waitUntilReady();
    redis = new Redis(serviceUrl('REDIS_URL'));
  });
  after(async () => {
    await store.close();
    redis.disconnect();
  });

  const event = (time: number, offset: number) => onlineEvent(time, { topic: 't', partition: 0, offset }, `{"n":${offset}}`);
  const write = (entityKey: string, now: number, eventFrom: number, fields: boolean, events: OnlineEvent[]): PiecesWrite => ({
    view: 'agg_expiry',
    entity: 'User',
    entityKey,
    pieces: true,
    fields: fields ? [{ name: tileField(HOP, now - (now % HOP)), value: encodePiece(now, '{}') }] : [],
    events,
    prune: prune(now, eventFrom),
  });
  const hashOf = (entityKey: string) => onlineKey('User', entityKey, 'agg_expiry');
  const bucketOf = (entityKey: string, start: number) => eventBucketKey(hashOf(entityKey), BUCKET, start);
  const read = async (entityKey: string, from: number, to: number) => {
    const [entry] = await store.read([{ view: 'agg_expiry', entity: 'User', entityKey, pieces: true, eventRange: { from, to, bucketMs: BUCKET } }]);
    assert.ok(entry !== null && entry !== undefined && 'events' in entry);
    return [...entry.events].sort();
  };
  /** A TTL set `ms` ago at most by this test (the store's clock runs on meanwhile). */
  const about = (ttl: number, ms: number) => ttl > ms - 10_000 && ttl <= ms;

  it('gives the hash an expiry of at least expireMs at its first write', async () => {
    const k = randomUUID();
    assert.deepEqual(await store.writePieces([write(k, NOW, NOW - 10_000, true, [event(NOW - 1, 1)])]), [1]);
    const ttl = await redis.pttl(hashOf(k));
    assert.ok(ttl > EXPIRE - 10_000 && ttl <= EXPIRE + EVERY, String(ttl));
  });

  it('gives each bucket an expiry of the slack past its end, kept by later appends', async () => {
    const k = randomUUID();
    // NOW is a bucket start: events just before it fall in the bucket before.
    await store.writePieces([write(k, NOW, NOW - 10_000, true, [event(NOW - 1, 1), event(NOW, 2), event(NOW + 1, 3)])]);
    assert.ok(about(await redis.pttl(bucketOf(k, NOW - BUCKET)), SLACK), 'the bucket before NOW: its end is NOW');
    assert.ok(about(await redis.pttl(bucketOf(k, NOW)), BUCKET + SLACK));
    // A write a minute later appends to the bucket and leaves its expiry (set from its end, not this write).
    await store.writePieces([write(k, NOW + 60_000, NOW - 10_000, false, [event(NOW + 60_000, 4)])]);
    assert.ok(about(await redis.pttl(bucketOf(k, NOW)), BUCKET + SLACK), 'unchanged by the append');
    assert.deepEqual(await read(k, NOW, NOW + BUCKET), [event(NOW, 2), event(NOW + 1, 3), event(NOW + 60_000, 4)].map((e) => e.member).sort());
  });

  it('appends only the events a bucket lacks when the write is a replay from PostgreSQL', async () => {
    const k = randomUUID();
    const [a, b, c, d] = [event(NOW - 1_000, 1), event(NOW - 900, 2), event(NOW - 800, 3), event(NOW + 1, 4)];
    await store.writePieces([write(k, NOW, NOW - 10_000, false, [a, b])]);
    // An outbox flush after a write that did reach Redis: a and b again, c new, d in a bucket not there yet.
    // b comes with other inputs (the view reads another field since): appended, and read instead of b.
    const bAgain = onlineEvent(b.time, { topic: 't', partition: 0, offset: 2 }, '{"n":2,"m":9}');
    await store.writePieces([{ ...write(k, NOW, NOW - 10_000, false, [a, bAgain, c, d]), replay: true }]);
    assert.equal(await redis.get(bucketOf(k, NOW - BUCKET)), `${a.member}\n${b.member}\n${bAgain.member}\n${c.member}\n`, 'a held once, b again with new inputs, c appended');
    assert.equal(await redis.get(bucketOf(k, NOW)), `${d.member}\n`);
    assert.ok(about(await redis.pttl(bucketOf(k, NOW)), BUCKET + SLACK), 'a bucket a replay creates gets its expiry');
    // A replay the bucket already holds entirely leaves it as it was.
    await store.writePieces([{ ...write(k, NOW, NOW - 10_000, false, [c, a]), replay: true }]);
    assert.equal(await redis.get(bucketOf(k, NOW - BUCKET)), `${a.member}\n${b.member}\n${bAgain.member}\n${c.member}\n`);
    // A write that is not a replay appends what it is given; the reader still takes each event once.
    await store.writePieces([write(k, NOW, NOW - 10_000, false, [a])]);
    assert.deepEqual(await read(k, NOW - 10_000, NOW), [a, bAgain, c].map((e) => e.member).sort());
  });

  it('writes a hash it never pruned in one go: stale fields left out, an existing bucket appended to, older fields pruned a prune later', async () => {
    const k = randomUUID();
    const a = event(NOW - 1_000, 1);
    const b = event(NOW - 900, 2);
    // What an earlier version left (no prune time in the hash), and a bucket outliving its hash.
    const [legacy, stale, kept] = [tileField(2 * HOP, NOW - 2 * HOP), tileField(HOP, NOW - 7_200_000), tileField(HOP, NOW - HOP)];
    await redis.hset(hashOf(k), legacy, encodePiece(1, '{}'));
    await redis.set(bucketOf(k, NOW - BUCKET), `${a.member}\n`, 'PX', 3_000_000);
    const fields = [stale, kept].map((name) => ({ name, value: encodePiece(1, '{}') }));
    assert.deepEqual(await store.writePieces([{ ...write(k, NOW, NOW - 10_000, false, [b]), fields }]), [2], 'both counted as written');
    // The stale field is not written, the earlier version's field not pruned yet.
    assert.deepEqual(Object.keys(await redis.hgetall(hashOf(k))).sort(), [legacy, kept, 'P'].sort());
    assert.equal(await redis.get(bucketOf(k, NOW - BUCKET)), `${a.member}\n${b.member}\n`);
    assert.ok(about(await redis.pttl(bucketOf(k, NOW - BUCKET)), 3_000_000), 'the bucket keeps its expiry');
    assert.ok((await redis.pttl(hashOf(k))) > EXPIRE - 10_000);
    // The next prune reads the hash's fields and deletes the earlier version's.
    await store.writePieces([write(k, NOW + EVERY, NOW - 10_000, false, [])]);
    assert.deepEqual(Object.keys(await redis.hgetall(hashOf(k))).sort(), [kept, 'P'].sort());
  });

  it('leaves out a bucket no read can reach any more', async () => {
    // Old events (a replay of a backlog), written when their bucket has been past its expiry for a while.
    const old = randomUUID();
    await store.writePieces([write(old, NOW, NOW - 10_000, false, [event(NOW - 2 * BUCKET - SLACK - 1, 1)])]);
    assert.equal(await redis.exists(bucketOf(old, NOW - 3 * BUCKET)), 0);
  });

  it('reads the sorted set an earlier version kept, each event once, and prunes it as its events age out', async () => {
    const k = randomUUID();
    const [a, b] = [event(NOW - 2_000, 1), event(NOW - 1_000, 2)];
    // As the version before buckets wrote them: scored by time.
    await redis.zadd(eventsKey(hashOf(k)), a.time, a.member, b.time, b.member);
    // This version writes b again (an outbox replay), and a new one.
    const c = event(NOW - 500, 3);
    await store.writePieces([write(k, NOW, NOW - 10_000, true, [b, c])]);
    assert.deepEqual(await read(k, NOW - 10_000, NOW), [a, b, c].map((e) => e.member).sort());
    // Only the range's part of the set is read.
    assert.deepEqual((await read(k, NOW - 1_500, NOW)).filter((m) => m === a.member), []);
    // The next prune (a minute on) drops the set's events before eventFrom.
    await store.writePieces([write(k, NOW + EVERY, NOW - 1_500, false, [])]);
    assert.deepEqual(await redis.zrange(eventsKey(hashOf(k)), '0', '-1'), [b.member]);
  });

  it('retires the sorted sets: each pruned to what a read reaches, a view marked once none is left, its reads leaving sets out', async () => {
    // Views of this test alone: the marker is shared by everything that uses this Redis.
    const [view, other] = [`agg_retire_${randomUUID()}`, `agg_other_${randomUUID()}`];
    const k = randomUUID();
    const setOf = (v: string) => eventsKey(onlineKey('User', k, v));
    const readView = async (v: string) => {
      const [entry] = await store.read([{ view: v, entity: 'User', entityKey: k, pieces: true, eventRange: { from: NOW - 10_000, to: NOW, bucketMs: BUCKET } }]);
      assert.ok(entry !== null && entry !== undefined && 'events' in entry);
      return entry.events;
    };
    const [a, b, c] = [event(NOW - 3_000, 1), event(NOW - 2_000, 2), event(NOW - 1_000, 3)];
    await redis.zadd(setOf(view), a.time, a.member, b.time, b.member);
    await redis.zadd(setOf(other), a.time, a.member);
    try {
      // b is still within reach: the set keeps it, and the view is not marked.
      assert.deepEqual(await store.retireSortedSets(new Map([[view, b.time]])), new Map([[view, 1]]));
      assert.deepEqual(await redis.zrange(setOf(view), '0', '-1'), [b.member]);
      assert.equal(await redis.hget(RAW_EVENTS_LAYOUT_KEY, view), null);
      assert.equal((await store.refreshRawEventsLayout()).has(view), false);
      assert.deepEqual(await readView(view), [b.member], 'a view not marked has its set read');
      // Once b is out of reach too, the set empties (and so goes) and the view is marked.
      assert.deepEqual(await store.retireSortedSets(new Map([[view, NOW]])), new Map([[view, 0]]));
      assert.equal(await redis.exists(setOf(view)), 0);
      assert.equal(await redis.hget(RAW_EVENTS_LAYOUT_KEY, view), RAW_EVENTS_IN_BUCKETS);
      assert.equal((await store.refreshRawEventsLayout()).has(view), true);
      // A set written now (only an earlier version would) is no longer read for the marked view.
      await redis.zadd(setOf(view), c.time, c.member);
      assert.deepEqual(await readView(view), [], 'a marked view has no sorted set read');
      // Nor pruned by writes: the store learnt of the mark with the pass.
      await store.writePieces([{ ...write(k, NOW, c.time + 1, false, []), view }]);
      assert.equal(await redis.zcard(setOf(view)), 1, 'a marked view has no sorted set pruned by writes');
      // The other view was not given: its set is untouched and it is not marked.
      assert.equal(await redis.zcard(setOf(other)), 1);
      assert.equal(await redis.hget(RAW_EVENTS_LAYOUT_KEY, other), null);
      assert.deepEqual(await readView(other), [a.member]);
      // A pass skips views marked already: c's set, past its view's reach, is neither pruned nor counted
      // (no pass at all when every view given is marked), while the other view's set is pruned and marked.
      assert.deepEqual(await store.retireSortedSets(new Map([[view, c.time + 1]])), new Map([[view, 0]]));
      assert.equal(await redis.zcard(setOf(view)), 1);
      assert.deepEqual(await store.retireSortedSets(new Map([[view, c.time + 1], [other, NOW]])), new Map([[view, 0], [other, 0]]));
      assert.equal(await redis.zcard(setOf(view)), 1);
      assert.equal(await redis.exists(setOf(other)), 0);
      assert.equal(await redis.hget(RAW_EVENTS_LAYOUT_KEY, other), RAW_EVENTS_IN_BUCKETS);
    } finally {
      await redis.del(setOf(view), setOf(other));
      await redis.hdel(RAW_EVENTS_LAYOUT_KEY, view, other);
    }
  });

  it('reads the marks on connecting and every RAW_EVENTS_LAYOUT_REFRESH_MS after, and forgets them when the connection closes', async (t) => {
    const view = `agg_marked_${randomUUID()}`;
    const k = randomUUID();
    const set = eventsKey(onlineKey('User', k, view));
    const e = event(NOW - 1_000, 1);
    await redis.zadd(set, e.time, e.member);
    await redis.hset(RAW_EVENTS_LAYOUT_KEY, view, RAW_EVENTS_IN_BUCKETS);
    // ioredis sets no interval of its own: only the store's refresh is mocked.
    t.mock.timers.enable({ apis: ['setInterval'] });
    const fresh = new RedisOnlineStore(serviceUrl('REDIS_URL'));
    const readEvents = async () => {
      const [entry] = await fresh.read([{ view, entity: 'User', entityKey: k, pieces: true, eventRange: { from: NOW - 10_000, to: NOW, bucketMs: BUCKET } }]);
      assert.ok(entry !== null && entry !== undefined && 'events' in entry);
      return entry.events;
    };
    try {
      await fresh.waitUntilReady();
      assert.deepEqual(await readEvents(), [], 'marked when it connected: the set is left out');
      await redis.hdel(RAW_EVENTS_LAYOUT_KEY, view);
      t.mock.timers.tick(RAW_EVENTS_LAYOUT_REFRESH_MS - 1);
      await fresh.layoutRead();
      assert.deepEqual(await readEvents(), [], 'not read again before RAW_EVENTS_LAYOUT_REFRESH_MS');
      t.mock.timers.tick(1);
      await fresh.layoutRead();
      assert.deepEqual(await readEvents(), [e.member], 'the mark gone on the next read of the marker: the set is read');
      await redis.hset(RAW_EVENTS_LAYOUT_KEY, view, RAW_EVENTS_IN_BUCKETS);
      t.mock.timers.tick(RAW_EVENTS_LAYOUT_REFRESH_MS);
      await fresh.layoutRead();
      assert.equal(fresh.viewsInBuckets.has(view), true);
      const closed = new Promise((resolve) => fresh.client.once('close', resolve));
      fresh.client.disconnect();
      await closed;
      assert.equal(fresh.viewsInBuckets.has(view), false, 'forgotten once the connection closed');
    } finally {
      await fresh.close();
      await redis.del(set);
      await redis.hdel(RAW_EVENTS_LAYOUT_KEY, view);
    }
  });

  it('prunes the hash no more often than everyMs, reading when it last did along with the fields', async () => {
    const k = randomUUID();
    const hash = hashOf(k);
    const old = tileField(HOP, NOW - 7_200_000);
    await store.writePieces([write(k, NOW, NOW - 10_000, true, [])]);
    await redis.hset(hash, old, encodePiece(1, '{}'));
    await store.writePieces([write(k, NOW + 1_000, NOW - 10_000, true, [])]);
    assert.equal(await redis.hexists(hash, old), 1, 'not pruned within everyMs of the last prune');
    await store.writePieces([write(k, NOW + EVERY, NOW - 10_000, true, [])]);
    assert.equal(await redis.hexists(hash, old), 0, 'pruned a minute later: the tile before its retention is gone');
    assert.equal(await redis.hget(hash, 'P'), String(NOW + EVERY));
  });
});
