import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { onlineKey } from '../../src/features/keys.ts';
import { encodePiece, eventsKey, onlineEvent, tileField } from '../../src/stores/online-pieces.ts';
import type { PiecesWrite, PruneBounds } from '../../src/stores/online-pieces.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
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
 * The pieces script sets a hash's and its events' expiry only when it prunes or creates the events' set,
 * not at every write: every key it leaves must still expire, at least expireMs after the last write.
 */
describe('Redis pieces expiry', () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const [EVERY, EXPIRE, HOP] = [60_000, 86_400_000, 600_000];
  const prune = (now: number, eventFrom: number): PruneBounds => ({ now, everyMs: EVERY, pieces: [{ kind: 'T', width: HOP, from: now - 3_600_000 }], eventFrom, expireMs: EXPIRE });
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

  const write = (entityKey: string, now: number, eventFrom: number, fields: boolean, offsets: number[]): PiecesWrite => ({
    view: 'agg_expiry',
    entity: 'User',
    entityKey,
    pieces: true,
    fields: fields ? [{ name: tileField(HOP, now - (now % HOP)), value: encodePiece(now, '{}') }] : [],
    events: offsets.map((offset) => onlineEvent(now, { topic: 't', partition: 0, offset }, '{}')),
    prune: prune(now, eventFrom),
  });
  const ttls = async (entityKey: string): Promise<[hash: number, events: number]> => {
    const hash = onlineKey('User', entityKey, 'agg_expiry');
    return [await redis.pttl(hash), await redis.pttl(eventsKey(hash))];
  };
  const within = (ttl: number) => ttl > EXPIRE - 10_000 && ttl <= EXPIRE + EVERY;

  it('gives the hash and its events an expiry at their first write, of at least expireMs', async () => {
    const k = randomUUID();
    assert.deepEqual(await store.writePieces([write(k, NOW, NOW - 10_000, true, [1])]), [1]);
    const [hash, events] = await ttls(k);
    assert.ok(within(hash) && within(events), `${hash} ${events}`);
  });

  it('gives an events set created between prunes an expiry too', async () => {
    const k = randomUUID();
    await store.writePieces([write(k, NOW, NOW - 10_000, true, [1])]);
    // A prune a minute later drops every raw event: the set is gone.
    await store.writePieces([write(k, NOW + EVERY, NOW + EVERY, false, [])]);
    assert.equal((await ttls(k))[1], -2, 'the events set is deleted');
    // Within the minute after, no prune: the set this write creates still gets an expiry.
    await store.writePieces([write(k, NOW + EVERY + 1_000, NOW + EVERY, false, [2])]);
    const [hash, events] = await ttls(k);
    assert.ok(within(hash) && within(events), `${hash} ${events}`);
  });

  it('reads when the hash was pruned along with the fields, and prunes no more often than everyMs', async () => {
    const k = randomUUID();
    const hash = onlineKey('User', k, 'agg_expiry');
    await store.writePieces([write(k, NOW, NOW - 10_000, true, [1])]);
    await store.writePieces([write(k, NOW + 1_000, NOW + 1_000, true, [2])]);
    assert.equal(await redis.zcard(eventsKey(hash)), 2, 'not pruned within everyMs of the last prune');
    await store.writePieces([write(k, NOW + EVERY, NOW + 1_000, true, [3])]);
    assert.equal(await redis.zcard(eventsKey(hash)), 2, 'pruned a minute later: the event before eventFrom is gone');
    assert.equal(await redis.hget(hash, 'P'), String(NOW + EVERY));
  });
});
