/**
 * Issue 8, load shedding, over HTTP: with --max-in-flight requests held inside the gateway (their online
 * read waits on a promise the test controls) and --max-queued waiting, the next request is refused at once
 * with 503 OVERLOADED and Retry-After while the held ones are still running; once released, every held and
 * queued request completes with its data, and the slots are free again. No timing is asserted: "at once"
 * means the refusal arrives while the admitted requests are provably still held.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildSchema } from '../../src/graphql/schema.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { OnlineEntry, OnlineKey, OnlineStore } from '../../src/stores/types.ts';
import { postJson, startLimitedGateway } from '../helpers/limited-gateway.ts';
import type { GraphQLAnswer, LimitedGateway } from '../helpers/limited-gateway.ts';
import { sample, scrape } from '../helpers/metrics.ts';
import { registryFromSdl } from '../helpers/repos.ts';

/** An online store whose reads wait for `open()`; `reached(n)` resolves once n reads have started. */
function heldStore(inner: OnlineStore) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let started = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const store = Object.assign(Object.create(inner) as OnlineStore, {
    read: async (keys: readonly OnlineKey[]): Promise<OnlineEntry[]> => {
      started++;
      for (const w of waiters.filter((w) => started >= w.n)) w.resolve();
      await gate;
      return inner.read(keys);
    },
    writeIfNewer: inner.writeIfNewer.bind(inner),
    writePieces: inner.writePieces.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
  });
  const reached = (n: number) => (started >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })));
  return { store, open: () => open(), reached };
}

/** A request whose answer the test can check for having arrived without waiting for it. */
function track(answer: Promise<GraphQLAnswer>) {
  const t = { settled: false, answer };
  void answer.finally(() => (t.settled = true));
  return t;
}

describe('load shedding (embedded stores)', () => {
  let registry: Registry;
  let held: ReturnType<typeof heldStore>;
  let stores: Stores;
  let gateway: LimitedGateway;

  before(async () => {
    registry = await registryFromSdl('type User @entity(key: ["user_id"]) { user_id: ID! }\ntype Stats @featureView(entity: "User") { n: Int }');
    held = heldStore(new MemoryOnlineStore());
    stores = { online: held.store, offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
    gateway = await startLimitedGateway({ registry, schema: buildSchema(registry), stores, requestLimits: { maxInFlight: 2, maxQueued: 1, queueTimeoutMs: 600_000 } });
    // Written through the gateway: a push reads nothing online, so the gate does not hold it.
    const pushed = await postJson(gateway.base, {
      query: 'mutation ($r: [JSON!]!) { pushFeatures(view: "stats", rows: $r) { rows } }',
      variables: { r: [1, 2, 3, 4, 5, 6].map((i) => ({ user_id: `u${i}`, event_timestamp: Date.now() - 60_000, n: i })) },
    });
    assert.equal(pushed.body.data?.pushFeatures.rows, 6, JSON.stringify(pushed.body));
  });

  after(async () => {
    held.open();
    await gateway.close();
    await Promise.all([stores.online.close(), stores.offline.close()]);
  });

  const vector = (user: string) => postJson(gateway.base, { query: `{ user(user_id: "${user}") { stats { n } } }` });
  const gauges = async () => {
    const m = await scrape(`${gateway.base}/metrics`);
    return { inFlight: sample(m, 'skewless_graphql_in_flight'), queued: sample(m, 'skewless_graphql_queued'), shed: sample(m, 'skewless_requests_refused_total', { code: 'OVERLOADED' }) };
  };
  /** Polls /metrics until `ok` holds (the test's own timeout bounds it): a condition, not a guessed delay. */
  const until = async (ok: (g: Awaited<ReturnType<typeof gauges>>) => boolean) => {
    for (;;) {
      if (ok(await gauges())) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  it('sheds the request beyond the slots and the queue with 503 OVERLOADED at once, and completes the held ones when released', async () => {
    const a = track(vector('u1'));
    const b = track(vector('u2'));
    await held.reached(2); // both slots are taken, their reads held
    const c = track(vector('u3'));
    await until((g) => g.queued === 1); // the third waits in the queue

    const shed = await vector('u4');
    assert.equal(shed.status, 503);
    assert.equal(shed.headers.get('retry-after'), '1');
    assert.equal(shed.body.errors?.[0]?.extensions?.code, 'OVERLOADED');
    assert.equal(shed.body.errors?.[0]?.extensions?.reason, 'queue_full');
    assert.deepEqual([a.settled, b.settled, c.settled], [false, false, false], 'refused while the admitted requests are still held');
    assert.deepEqual(await gauges(), { inFlight: 2, queued: 1, shed: 1 });

    held.open();
    const answers = await Promise.all([a.answer, b.answer, c.answer]);
    assert.deepEqual(answers.map((r) => [r.status, r.body]), [1, 2, 3].map((n) => [200, { data: { user: { stats: { n } } } }]));
    await until((g) => g.inFlight === 0 && g.queued === 0);

    // Every slot was given back: as many requests as there are slots and places in the queue all run.
    const again = await Promise.all(['u4', 'u5', 'u6'].map(vector));
    assert.deepEqual(again.map((r) => r.body.data?.user.stats.n), [4, 5, 6]);
  });
});
