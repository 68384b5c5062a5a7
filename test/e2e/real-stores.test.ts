/** The gateway on real Redis and PostgreSQL: it connects, reports both ready, and says which it uses. */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { embeddedEnv, startGateway } from '../helpers/cli.ts';
import type { RunningGateway } from '../helpers/cli.ts';
import { serviceUrl } from '../helpers/services.ts';

describe('gateway on real stores', () => {
  let gateway: RunningGateway;

  before(async () => {
    gateway = await startGateway([], embeddedEnv({ REDIS_URL: serviceUrl('REDIS_URL'), DATABASE_URL: serviceUrl('DATABASE_URL') }));
  });
  after(async () => {
    assert.equal(await gateway.stop(), 0);
  });

  it('reports the real stores it uses', () => {
    assert.equal(gateway.started.onlineStore, new URL(serviceUrl('REDIS_URL')).toString());
    assert.match(String(gateway.started.offlineStore), /^postgres:\/\//);
  });

  it('is ready once Redis and PostgreSQL answer', async () => {
    // Readiness is polled until true, as a load balancer would (the Redis client connects in the
    // background); the deadline only bounds a broken run.
    let body: { ready: boolean; checks: Record<string, { ok: boolean; kind: string }>; freshness?: { stale: unknown[] } } | undefined;
    const deadline = Date.now() + 15_000;
    while (body?.ready !== true && Date.now() < deadline) {
      const res = await fetch(`${gateway.base}/readyz`);
      body = (await res.json()) as typeof body;
      if (body?.ready === true) assert.equal(res.status, 200);
      else await delay(25);
    }
    const { freshness, ...rest } = body!;
    assert.deepEqual(rest, { ready: true, checks: { online: { ok: true, kind: 'redis' }, offline: { ok: true, kind: 'postgres' } } });
    assert.deepEqual(freshness?.stale, [], 'no view declares a freshness it misses');
  });
});
