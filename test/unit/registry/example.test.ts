/** The example fraud repository in schema/ and transforms/: the names later issues and users rely on. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadRegistry } from '../../../src/registry/load.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { EXAMPLE_DIRS, ROOT } from '../../helpers/paths.ts';

let registry: Registry;

before(async () => {
  const result = await loadRegistry(EXAMPLE_DIRS);
  if (!result.ok) assert.fail(result.problems.map((p) => `${p.code} ${p.message}`).join('\n'));
  registry = result.registry;
});

const names = (items: readonly { name: string }[]) => items.map((i) => i.name).sort();

describe('the example repository', () => {
  it('defines User and Merchant keyed by user_id and merchant_id', () => {
    assert.deepEqual(names(registry.entities), ['Merchant', 'User']);
    assert.deepEqual(registry.entity('User')?.joinKeys.map((k) => [k.name, k.type.scalar]), [['user_id', 'ID']]);
    assert.deepEqual(registry.entity('Merchant')?.joinKeys.map((k) => [k.name, k.type.scalar]), [['merchant_id', 'ID']]);
  });

  it('defines the Transaction source on the transactions topic', () => {
    const source = registry.source('Transaction');
    assert.equal(source?.topic, 'transactions');
    assert.equal(source?.timestampField, 'event_time');
    assert.deepEqual(source?.fields.map((f) => f.name), ['user_id', 'merchant_id', 'amount', 'country', 'event_time']);
  });

  it('defines user_txn_stats as a row view of User with a 3-day ttl', () => {
    const view = registry.view('user_txn_stats');
    assert.equal(view?.kind, 'row');
    assert.deepEqual(view?.entities, ['User']);
    assert.equal(view?.kind === 'row' ? view.ttlMs : undefined, 3 * 86_400_000);
    assert.deepEqual(view?.features.map((f) => `${f.name}: ${f.type.scalar}`), ['txn_count_7d: Int', 'txn_amount_avg_7d: Float', 'txn_amount_std_30d: Float']);
  });

  it('defines the two aggregation views over Transaction', () => {
    const windows = registry.view('user_txn_windows');
    assert.equal(windows?.kind === 'aggregation' ? windows.source : undefined, 'Transaction');
    assert.deepEqual(names(windows?.features ?? []), ['last_seen', 'tx_amount_24h', 'tx_count_24h', 'unique_merchants_7d']);
    assert.deepEqual(
      windows?.features.map((f) => [f.name, f.aggregation?.fn, f.aggregation?.windowMs]),
      [
        ['tx_count_24h', 'COUNT', 86_400_000],
        ['tx_amount_24h', 'SUM', 86_400_000],
        ['unique_merchants_7d', 'COUNT_DISTINCT', 7 * 86_400_000],
        ['last_seen', 'LAST', 30 * 86_400_000],
      ],
    );
    const baseline = registry.view('merchant_baseline');
    assert.deepEqual(baseline?.entities, ['Merchant']);
    assert.deepEqual(names(baseline?.features ?? []), ['avg_tx_amount', 'p95_tx_amount', 'stddev_tx_amount', 'total_tx_count']);
    assert.ok(baseline?.features.every((f) => f.aggregation?.window === '30d'));
    assert.equal(registry.feature('merchant_baseline:p95_tx_amount')?.feature.aggregation?.percentile, 0.95);
  });

  it('defines txn_signals on demand with request input amount, keyed by both entities', async () => {
    const view = registry.view('txn_signals');
    assert.equal(view?.kind, 'onDemand');
    if (view?.kind !== 'onDemand') return;
    assert.deepEqual(view.inputs, ['user_txn_stats', 'merchant_baseline']);
    assert.deepEqual(view.entities, ['User', 'Merchant']);
    assert.deepEqual(registry.requestType(view.request!)?.fields.map((f) => f.name), ['amount']);
    assert.deepEqual(names(view.features), ['amount_to_avg_ratio', 'amount_z_score']);
    const bytes = await readFile(path.join(ROOT, 'transforms/txn_signals.ts'));
    assert.equal(view.transform.sha256, createHash('sha256').update(bytes).digest('hex'));
  });

  it('groups what the fraud model reads in fraud_model_v1', () => {
    const service = registry.service('fraud_model_v1');
    assert.ok(service);
    for (const ref of service.features) assert.ok(registry.feature(ref), `${ref} is not a feature`);
    assert.ok(service.features.includes('txn_signals:amount_z_score'));
    assert.ok(service.features.includes('user_txn_stats:txn_amount_avg_7d'));
  });

  it('is immutable', () => {
    assert.throws(() => (registry.views as unknown[]).push({}), TypeError);
    assert.throws(() => {
      (registry.view('user_txn_stats') as { name: string }).name = 'x';
    }, TypeError);
  });

  it('expands refs and bare view names, reporting unknown ones', () => {
    const { refs, unknown } = registry.expandRefs(['user_txn_stats', 'merchant_baseline:avg_tx_amount', 'nope:x', 'user_txn_stats:nope']);
    assert.deepEqual(refs, ['user_txn_stats:txn_count_7d', 'user_txn_stats:txn_amount_avg_7d', 'user_txn_stats:txn_amount_std_30d', 'merchant_baseline:avg_tx_amount']);
    assert.deepEqual(unknown, ['nope:x', 'user_txn_stats:nope']);
  });
});
