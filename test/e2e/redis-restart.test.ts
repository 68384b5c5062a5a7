/**
 * Redis stopped and restarted under traffic: affected values come back null with ONLINE_STORE_UNAVAILABLE,
 * the rest of each response is served, readiness turns false, and the gateway heals by itself when Redis
 * returns, without a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { postGraphQL } from '../helpers/cli.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { gatewayOnPrivateRedis } from '../helpers/redis-server.ts';
import type { PrivateRedis } from '../helpers/redis-server.ts';

const QUERY = `query ($e: [JSON!]!) {
  f: onlineFeatures(features: ["stats_a:a_int"], entities: $e) { rows statuses errors { view code rows } }
  r: registry { entities { name } }
  u: user(user_id: "r1") { stats_a { a_int } }
}`;

/** Polls `probe` until `done` says so; the deadline only bounds a broken run. */
async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await delay(20);
  }
}

describe('Redis stopped and restarted under traffic', () => {
  let redis: PrivateRedis;
  let gateway: TestGateway;
  let close: () => Promise<void>;

  before(async () => {
    ({ redis, gateway, close } = await gatewayOnPrivateRedis());
  });
  after(() => close());

  it('serves coded errors while Redis is down and recovers on its own', async () => {
    const query = () => postGraphQL(gateway.base, QUERY, { e: [{ user_id: 'r1' }, { user_id: 'r2' }] });
    const ready = async () => (await fetch(`${gateway.base}/readyz`)).status;
    const pushed = await postGraphQL(gateway.base, 'mutation { pushFeatures(view: "stats_a", rows: [{user_id: "r1", event_timestamp: 1, a_int: 1}]) { rows } }');
    assert.equal(pushed.body.errors, undefined);

    // Background traffic for the whole test: every response must be a well-formed HTTP 200 answer.
    let stop = false;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (!stop && statuses.length < 20_000) statuses.push((await query()).status);
    })();

    await until(query, (r) => r.body.data?.f.statuses[0][1] === 'EXPIRED', 'a healthy read');
    await redis.kill();

    const down = await until(query, (r) => r.body.data?.f.errors.length > 0, 'reads to fail with a code');
    assert.deepEqual(down.body.data!.f.errors, [{ view: 'stats_a', code: 'ONLINE_STORE_UNAVAILABLE', rows: [0, 1] }]);
    assert.deepEqual(down.body.data!.f.statuses, [[null, 'ERROR'], [null, 'ERROR']]);
    assert.deepEqual(down.body.data!.f.rows, [['r1', null], ['r2', null]]);
    assert.deepEqual(down.body.data!.r.entities.length, 3, 'the rest of the response is served');
    assert.equal(down.body.data!.u.stats_a, null);
    assert.equal(down.body.errors?.[0]?.extensions?.code, 'ONLINE_STORE_UNAVAILABLE');
    assert.deepEqual(down.body.errors?.[0]?.path, ['u', 'stats_a']);
    await until(ready, (s) => s === 503, 'readiness to turn false');
    assert.equal((await fetch(`${gateway.base}/healthz`)).status, 200, 'still alive');
    const push = await postGraphQL(gateway.base, 'mutation { pushFeatures(view: "stats_a", rows: [{user_id: "r2", event_timestamp: 1, a_int: 2}]) { rows } }');
    assert.equal(push.body.errors?.[0]?.extensions?.code, 'ONLINE_STORE_UNAVAILABLE');
    assert.match(push.body.errors![0]!.message, /1 row\(s\) saved to offline history/);

    await redis.start();
    await until(ready, (s) => s === 200, 'readiness to turn true again');
    const healed = await until(query, (r) => r.body.data?.f.errors.length === 0, 'reads to succeed again');
    // The restarted server is empty (no persistence): nothing found, and no error.
    assert.deepEqual(healed.body.data!.f.statuses, [[null, 'NOT_FOUND'], [null, 'NOT_FOUND']]);

    stop = true;
    await traffic;
    assert.ok(statuses.length > 0);
    assert.deepEqual([...new Set(statuses)], [200], 'every request under traffic got an answer');
  });
});

describe('Redis stalled', () => {
  let redis: PrivateRedis;
  let gateway: TestGateway;
  let close: () => Promise<void>;

  before(async () => {
    ({ redis, gateway, close } = await gatewayOnPrivateRedis({ commandTimeoutMs: 200 }));
  });
  after(() => close());

  it('serves values as unavailable after the command timeout instead of waiting, and recovers', async () => {
    const query = () => postGraphQL(gateway.base, QUERY, { e: [{ user_id: 'r1' }] });
    const admin = new Redis(redis.url);
    try {
      await until(query, (r) => r.body.data?.f.errors.length === 0, 'a healthy read');
      // DEBUG SLEEP blocks the whole server for 2 s: every command behind it waits.
      const stall = admin.debug('SLEEP', '2');
      const stalled = await until(query, (r) => r.body.data?.f.errors.length > 0, 'reads to give up');
      assert.equal(stalled.status, 200);
      assert.equal(stalled.body.data!.f.errors[0].code, 'ONLINE_STORE_UNAVAILABLE');
      assert.match(JSON.stringify(stalled.body.data!.f.errors), /ONLINE_STORE_UNAVAILABLE/);
      assert.equal(stalled.body.data!.r.entities.length, 3, 'the rest of the response is served');
      await stall;
      await until(query, (r) => r.body.data?.f.errors.length === 0, 'reads to succeed once Redis answers again');
    } finally {
      admin.disconnect();
    }
  });
});
