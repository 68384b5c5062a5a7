/** Plumbing against a real Redis: the online store connects, writes and reads. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { serviceUrl, uniqueName } from '../helpers/services.ts';

describe('Redis online store (real server)', () => {
  let store: RedisOnlineStore;
  const key = uniqueName('plumbing');

  before(async () => {
    store = new RedisOnlineStore(serviceUrl('REDIS_URL'));
    await store.waitUntilReady();
  });
  after(async () => {
    try {
      await store.client.del(key);
    } finally {
      await store.close();
    }
  });

  it('answers ping on Redis 7 or newer', async () => {
    await store.ping();
    const info = await store.client.info('server');
    const major = Number(/redis_version:(\d+)/.exec(info)?.[1]);
    assert.ok(major >= 7, `redis_version ${major}`);
  });

  it('writes a hash and reads it back in one pipelined round trip', async () => {
    await store.client.hset(key, { txn_count_7d: '12', txn_amount_avg_7d: '42.5' });
    const results = await store.client.pipeline().hget(key, 'txn_count_7d').hgetall(key).exec();
    assert.deepEqual(
      results?.map(([error, value]) => [error, value]),
      [
        [null, '12'],
        [null, { txn_count_7d: '12', txn_amount_avg_7d: '42.5' }],
      ],
    );
  });

  it('fails fast instead of queueing while the server is unreachable', async () => {
    const url = new URL(serviceUrl('REDIS_URL'));
    url.port = '1';
    const down = new RedisOnlineStore(url.toString());
    try {
      await assert.rejects(down.ping(), /Redis is not connected/);
      await assert.rejects(down.waitUntilReady(300), /did not become ready within 300 ms/);
      await assert.rejects(down.ping(), /Redis is not connected/);
    } finally {
      await down.close();
    }
  });
});

describe('command timeouts (real server)', () => {
  it('gives the commands that write the online store from PostgreSQL --online-write-timeout, the gateway --redis-timeout', async () => {
    const { resolveConfig } = await import('../../src/config/config.ts');
    const { openStores, openWriterStores, closeStores } = await import('../../src/stores/open.ts');
    const config = resolveConfig({ redisUrl: serviceUrl('REDIS_URL'), databaseUrl: serviceUrl('DATABASE_URL'), redisTimeoutMs: '150' }, { SKEWLESS_ONLINE_WRITE_TIMEOUT: '4000' });
    for (const [open, expected] of [
      [openStores, 150],
      [openWriterStores, 4000],
    ] as const) {
      const stores = await open(config);
      try {
        assert.equal(((stores.online as RedisOnlineStore).client.options as { commandTimeout?: number }).commandTimeout, expected);
      } finally {
        await closeStores(stores);
      }
    }
  });
});
