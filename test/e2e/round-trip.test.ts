/**
 * A query over 100 entities × 3 views costs exactly one Redis round trip: one MGET, counted by the Redis
 * server itself (INFO commandstats), for the frame API and for typed fields alike.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { postGraphQL } from '../helpers/cli.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { gatewayOnPrivateRedis } from '../helpers/redis-server.ts';
import type { PrivateRedis } from '../helpers/redis-server.ts';

/** Calls per command since the last CONFIG RESETSTAT, without the admin client's own CONFIG and INFO. */
async function commandCalls(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const calls: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (!/^(config|info)\b/.test(m[1]!)) calls[m[1]!] = Number(m[2]);
  return calls;
}

describe('round trips to Redis', () => {
  // A private server: command statistics are server-wide, and nothing else may talk to it.
  let redis: PrivateRedis;
  let gateway: TestGateway;
  let close: () => Promise<void>;
  let admin: Redis;
  const users = Array.from({ length: 100 }, (_, i) => `rt-${i}`);

  before(async () => {
    ({ redis, gateway, close } = await gatewayOnPrivateRedis());
    admin = new Redis(redis.url);
    const t = Date.now() - 1000;
    for (const [view, feature] of [['stats_a', 'a_int'], ['stats_b', 'b_count'], ['stats_c', 'c_score']] as const) {
      const { body } = await postGraphQL(gateway.base, 'mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', {
        v: view,
        r: users.map((u, i) => ({ user_id: u, event_timestamp: t, [feature]: i })),
      });
      assert.equal(body.errors, undefined);
    }
  });
  after(async () => {
    admin.disconnect();
    await close();
  });

  it('onlineFeatures for 100 entities × 3 views is one MGET', async () => {
    await admin.config('RESETSTAT');
    const { body } = await postGraphQL(gateway.base, 'query ($e: [JSON!]!) { onlineFeatures(features: ["stats_a:a_int", "stats_b:b_count", "stats_c:c_score"], entities: $e) { rows } }', {
      e: users.map((u) => ({ user_id: u })),
    });
    assert.equal(body.errors, undefined);
    assert.deepEqual(body.data!.onlineFeatures.rows[99], ['rt-99', 99, 99, 99]);
    assert.deepEqual(await commandCalls(admin), { mget: 1 });
  });

  it('typed fields for 100 entities × 3 views, across aliases and fragments, are one MGET', async () => {
    await admin.config('RESETSTAT');
    const { body } = await postGraphQL(
      gateway.base,
      `query ($u: [ID!]!) {
        first: users(user_id: $u) { stats_a { a_int } ...B }
        again: users(user_id: $u) { stats_c { c_score } }
      }
      fragment B on User { stats_b { b_count } }`,
      { u: users },
    );
    assert.equal(body.errors, undefined);
    assert.equal(body.data!.again[42].stats_c.c_score, 42);
    assert.deepEqual(await commandCalls(admin), { mget: 1 });
  });
});
