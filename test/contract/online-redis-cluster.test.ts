import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Cluster } from 'ioredis';
import { onlineKey } from '../../src/features/keys.ts';
import { encodePiece, eventsKey, onlineEvent, tileField } from '../../src/stores/online-pieces.ts';
import type { PiecesWrite, PruneBounds } from '../../src/stores/online-pieces.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { RAW_EVENTS_IN_BUCKETS, RAW_EVENTS_LAYOUT_KEY } from '../../src/stores/redis/sorted-sets.ts';
import { serviceUrl } from '../helpers/services.ts';
import { onlineStoreContract } from './online-store.contract.ts';

onlineStoreContract('Redis Cluster (real 3-node cluster)', {
  open: async () => {
    const store = new RedisOnlineStore(serviceUrl('REDIS_CLUSTER_URL'), 'cluster');
    await store.waitUntilReady();
    return store;
  },
});

/**
 * A cluster routes each pieces call by its hash's key, whatever number of buckets the write has: a new
 * process's first tick may carry rows and hashes with no bucket, one and two together (an outbox flush at
 * start-up), and each lands whole on its node.
 */
describe('Redis Cluster pieces writes', () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const BUCKET = 300_000;
  const prune: PruneBounds = { now: NOW, everyMs: 60_000, pieces: [{ kind: 'T', width: 600_000, from: NOW - 3_600_000 }], eventFrom: NOW - BUCKET, eventBucketMs: BUCKET, eventWidths: [BUCKET], eventSlackMs: 120_000, expireMs: 86_400_000 };
  const event = (time: number, offset: number) => onlineEvent(time, { topic: 't', partition: 0, offset }, `{"n":${offset}}`);
  let store: RedisOnlineStore;
  after(async () => store.close());

  it('writes hashes of 0, 1 and 2 buckets and a row in the first tick of a new store, each read back', async () => {
    store = new RedisOnlineStore(serviceUrl('REDIS_CLUSTER_URL'), 'cluster');
    await store.waitUntilReady();
    const keys = Array.from({ length: 12 }, () => randomUUID());
    const writes: PiecesWrite[] = keys.map((entityKey, i) => ({
      view: 'agg_cluster',
      entity: 'User',
      entityKey,
      pieces: true,
      fields: [{ name: tileField(600_000, NOW - 600_000), value: encodePiece(1, `{"i":${i}}`) }],
      events: [[], [event(NOW - 1, i)], [event(NOW - 1, i), event(NOW + 1, i + 100)]][i % 3]!,
      prune,
      replay: i % 2 === 0,
    }));
    const [rows, pieces] = await Promise.all([store.writeIfNewer([{ view: 'row_cluster', entity: 'User', entityKey: keys[0]!, eventTs: NOW, createdTs: NOW, values: { a: 1 } }]), store.writePieces(writes)]);
    assert.deepEqual(rows, [true]);
    assert.deepEqual(pieces, writes.map(() => 1));
    const read = await store.read(writes.map((w) => ({ view: w.view, entity: w.entity, entityKey: w.entityKey, pieces: true, eventRange: { from: NOW - BUCKET, to: NOW + BUCKET, bucketMs: BUCKET } })));
    read.forEach((entry, i) => {
      assert.ok(entry !== null && !(entry instanceof Error) && 'events' in entry, `hash ${i}`);
      assert.deepEqual([...entry.events].sort(), writes[i]!.events.map((e) => e.member).sort(), `hash ${i}`);
    });
  });

  it('retires the sorted sets on every node, marking the view once none is left on any', async () => {
    const view = `agg_retire_${randomUUID()}`;
    // Four sets on each master, chosen by hash slot; one per node keeps an event within reach.
    const cluster = store.client as Cluster;
    const masters = cluster.nodes('master').map((n) => `${n.options.host}:${n.options.port}`);
    const byNode = new Map<string, string[]>(masters.map((m) => [m, []]));
    while ([...byNode.values()].some((keys) => keys.length < 4)) {
      const key = eventsKey(onlineKey('User', randomUUID(), view));
      const slot = Number(await cluster.cluster('KEYSLOT', key));
      const keys = byNode.get(cluster.slots[slot]![0]!);
      if (keys !== undefined && keys.length < 4) keys.push(key);
    }
    const sets = [...byNode.values()].flatMap((keys) => keys);
    const [old, recent] = [event(NOW - 2_000, 1), event(NOW - 1_000, 2)];
    for (const [i, key] of sets.entries()) await store.client.zadd(key, old.time, old.member, ...(i % 4 === 0 ? [recent.time, recent.member] : []));
    try {
      assert.deepEqual(await store.retireSortedSets(new Map([[view, recent.time]])), new Map([[view, masters.length]]));
      assert.equal(await store.client.hget(RAW_EVENTS_LAYOUT_KEY, view), null);
      assert.deepEqual(await store.retireSortedSets(new Map([[view, NOW]])), new Map([[view, 0]]));
      for (const key of sets) assert.equal(await store.client.exists(key), 0, key);
      assert.equal(await store.client.hget(RAW_EVENTS_LAYOUT_KEY, view), RAW_EVENTS_IN_BUCKETS);
    } finally {
      for (const key of sets) await store.client.del(key);
      await store.client.hdel(RAW_EVENTS_LAYOUT_KEY, view);
    }
  });
});
