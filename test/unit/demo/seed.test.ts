/** Seeding the demo: the generated month goes through the materializer's commit and the push path, once. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_GROUP, seedDemo } from '../../../src/demo/seed.ts';
import { generateTransactions } from '../../../src/demo/transactions.ts';
import { nightlyUserStats } from '../../../src/demo/user-stats.ts';
import { committedOffsets } from '../../../src/materializer/in-process.ts';
import { createLogger } from '../../../src/ops/log.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../../src/stores/memory/online.ts';
import type { Stores } from '../../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import { EXAMPLE_DIRS } from '../../helpers/paths.ts';
import { loadFixtureRegistry } from '../../helpers/repos.ts';

const until = Date.parse('2026-11-21T08:51:52.123Z');
const shape = { seed: 5, until, days: 4, users: 12, merchants: 4, transactions: 400 };

describe('seeding the demo', () => {
  let registry: Registry;
  let stores: Stores;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    registry = await loadFixtureRegistry(EXAMPLE_DIRS);
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
  });
  after(() => stores.offline.close());

  it('commits every generated transaction through the in-process source and pushes the nightly rows', async () => {
    const logger = createLogger('info', (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
    const result = await seedDemo(registry, stores, { shape }, logger);
    const transactions = generateTransactions(shape);
    const nightly = nightlyUserStats(transactions, Array.from({ length: shape.users }, (_, i) => `u${i + 1}`), until - shape.days * 86_400_000, until);
    assert.ok(result.seeded);
    assert.deepEqual([result.events, result.statsRows], [transactions.length, nightly.length]);
    assert.deepEqual(logs.map((l) => l.msg), ['demo.seeding', 'demo.seeded']);
    assert.equal(logs[1]!.events, transactions.length);

    const [archived] = await stores.offline.query<{ n: number; amount: number }>('select count(*)::int as n, sum(amount)::float8 as amount from skewless."events_Transaction"');
    assert.equal(archived!.n, transactions.length);
    assert.ok(Math.abs(archived!.amount - transactions.reduce((s, t) => s + t.amount, 0)) < 1e-6);
    const offsets = await committedOffsets(stores, DEMO_GROUP);
    assert.equal([...offsets.values()].reduce((a, b) => a + b, 0), transactions.length, 'offsets cover every message, under the demo group');
    const [history] = await stores.offline.query<{ n: number }>('select count(*)::int as n from skewless.history_user_txn_stats');
    assert.equal(history!.n, nightly.length);

    const [u1] = await stores.online.read([{ view: 'user_txn_stats', entity: 'User', entityKey: 'u1' }]);
    const lastNight = nightly.filter((r) => r.user_id === 'u1').at(-1)!;
    assert.ok(u1 !== undefined && u1 !== null && 'values' in u1);
    assert.deepEqual(u1.values, { txn_count_7d: lastNight.txn_count_7d, txn_amount_avg_7d: lastNight.txn_amount_avg_7d, txn_amount_std_30d: lastNight.txn_amount_std_30d });
  });

  it('does not seed a store that already holds demo data a second time', async () => {
    const again = await seedDemo(registry, stores, { shape: { ...shape, until: until + 60_000 } });
    assert.equal(again.seeded, false);
    assert.match(!again.seeded ? again.reason : '', /already holds demo data/);
    const [archived] = await stores.offline.query<{ n: number }>('select count(*)::int as n from skewless."events_Transaction"');
    assert.equal(archived!.n, shape.transactions);
  });

  it('does nothing, and says why, for a registry without the example Transaction source', async () => {
    const other = await loadFixtureRegistry();
    const empty = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    try {
      await empty.offline.ensureSchema(other);
      const result = await seedDemo(other, empty, { shape });
      assert.deepEqual(result, { seeded: false, reason: 'the registry has no Transaction source (the demo data is made for the example in schema/)' });
    } finally {
      await empty.offline.close();
    }
  });
});
