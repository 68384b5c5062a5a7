/**
 * The example repository's txn_signals (schema/fraud.graphql, transforms/txn_signals.ts) online and
 * historically: the ratio to the user's pushed 7-day average on both paths, and the z-score null on both
 * while merchant_baseline (an aggregation view) has no values.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { Stores } from '../../src/stores/open.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { EXAMPLE_DIRS } from '../helpers/paths.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

describe('example: txn_signals', () => {
  let stores: Stores;
  let gateway: TestGateway;
  before(async () => {
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    gateway = await startTestGateway(await loadFixtureRegistry(EXAMPLE_DIRS), stores);
  });
  after(async () => {
    await gateway.close();
    await Promise.all([stores.online.close(), stores.offline.close()]);
  });

  it('gives the same signals online and historically at T', async () => {
    const user = randomUUID();
    const merchant = randomUUID();
    const pushed = await postGraphQL(gateway.base, 'mutation ($r: [JSON!]!) { pushFeatures(view: "user_txn_stats", rows: $r) { rows } }', {
      r: [{ user_id: user, event_timestamp: Date.now() - 60_000, txn_count_7d: 12, txn_amount_avg_7d: 40, txn_amount_std_30d: 9.5 }],
    });
    assert.equal(pushed.body.errors, undefined);
    const features = ['txn_signals'];
    const online = await postGraphQL(gateway.base, 'query ($f: [String!], $e: [JSON!]!, $r: [JSON!]) { onlineFeatures(features: $f, entities: $e, request: $r) { columns rows statuses asOf } }', {
      f: features,
      e: [{ user_id: user, merchant_id: merchant }],
      r: [{ amount: 130 }],
    });
    assert.equal(online.body.errors, undefined, JSON.stringify(online.body.errors));
    const live = online.body.data!.onlineFeatures as { columns: string[]; rows: unknown[][]; statuses: unknown[][]; asOf: string };
    assert.deepEqual(live.columns, ['user_id', 'merchant_id', 'txn_signals:amount_to_avg_ratio', 'txn_signals:amount_z_score']);
    assert.deepEqual(live.rows, [[user, merchant, 130 / 40, null]]);
    const historical = await postGraphQL(gateway.base, 'query ($f: [String!], $e: [JSON!]) { historicalFeatures(features: $f, entities: $e) { columns rows } }', {
      f: features,
      e: [{ user_id: user, merchant_id: merchant, event_timestamp: live.asOf, amount: 130, label: 1 }],
    });
    assert.equal(historical.body.errors, undefined, JSON.stringify(historical.body.errors));
    const past = historical.body.data!.historicalFeatures as { columns: string[]; rows: unknown[][] };
    assert.deepEqual(past.rows, [[user, merchant, live.asOf, 130, 1, 130 / 40, null]]);

    // The typed field, keyed by both entities it reads: the same values.
    const typed = await postGraphQL(gateway.base, 'query ($u: ID!, $m: ID!) { userAndMerchant(user_id: $u, merchant_id: $m) { user_id merchant_id user_txn_stats { txn_amount_avg_7d } txn_signals(request: {amount: 130}) { amount_to_avg_ratio amount_z_score } } }', { u: user, m: merchant });
    assert.equal(typed.body.errors, undefined, JSON.stringify(typed.body.errors));
    assert.deepEqual(JSON.parse(JSON.stringify(typed.body.data)), {
      userAndMerchant: { user_id: user, merchant_id: merchant, user_txn_stats: { txn_amount_avg_7d: 40 }, txn_signals: { amount_to_avg_ratio: 130 / 40, amount_z_score: null } },
    });
  });
});
