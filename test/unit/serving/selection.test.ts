import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SkewlessError } from '../../../src/errors.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { selectFeatures } from '../../../src/serving/selection.ts';
import { viewValueAt } from '../../../src/serving/value-at.ts';
import { loadFixtureRegistry } from '../../helpers/repos.ts';

let registry: Registry;
before(async () => {
  registry = await loadFixtureRegistry();
});

describe('selectFeatures', () => {
  it('keeps refs in the order asked, expanding bare views', () => {
    const s = selectFeatures(registry, { features: ['stats_b:b_label', 'stats_a', 'pair_stats:pair_count'] });
    assert.deepEqual(s.columns.map((c) => c.ref), ['stats_b:b_label', 'stats_a:a_int', 'stats_a:a_float', 'pair_stats:pair_count']);
    assert.deepEqual(s.views.map((v) => v.name), ['stats_b', 'stats_a', 'pair_stats']);
    assert.deepEqual(s.joinKeys, ['user_id', 'merchant_id']);
  });

  it('expands a feature service', () => {
    assert.deepEqual(selectFeatures(registry, { service: 'serving_model' }).columns.map((c) => c.ref), ['stats_a:a_int', 'stats_c:c_score']);
  });

  it('names every unknown ref with the closest known one', () => {
    assert.throws(
      () => selectFeatures(registry, { features: ['stats_a:a_itn', 'stats_z', 'stats_a:a_int'] }),
      (e: unknown) => e instanceof SkewlessError && e.code === 'UNKNOWN_FEATURE' && /"stats_a:a_itn" \(did you mean "stats_a:a_int"\?\), "stats_z"/.test(e.message),
    );
  });

  it('resolves a repeated selection once, and never caches a refusal', () => {
    assert.equal(selectFeatures(registry, { features: ['stats_a', 'stats_c'] }), selectFeatures(registry, { features: ['stats_a', 'stats_c'] }));
    assert.equal(selectFeatures(registry, { service: 'serving_model' }), selectFeatures(registry, { service: 'serving_model' }));
    assert.notEqual(selectFeatures(registry, { features: ['stats_a'] }), selectFeatures(registry, { features: ['stats_c'] }));
    assert.throws(() => selectFeatures(registry, { features: ['stats_zz'] }));
    assert.throws(() => selectFeatures(registry, { features: ['stats_zz'] }));
  });

  it('wants exactly one of features and service', () => {
    assert.throws(() => selectFeatures(registry, { features: ['stats_a'], service: 'serving_model' }), /either features/);
    assert.throws(() => selectFeatures(registry, {}), /either features/);
    assert.throws(() => selectFeatures(registry, { service: 'servng_model' }), /did you mean "serving_model"/);
  });
});

describe('viewValueAt', () => {
  const T = 10_000_000;
  it('serves within ttl, expires past it, treats future rows as unknown at T', () => {
    const view = registry.view('stats_a')!; // ttl 1h
    const record = (eventTs: number) => ({ eventTs, createdTs: 0, values: { a_int: 1 } });
    assert.equal(viewValueAt(view, record(T - 3_600_000), T).status, 'PRESENT');
    assert.deepEqual(viewValueAt(view, record(T - 3_600_001), T), { status: 'EXPIRED', values: null, eventTs: T - 3_600_001, error: null });
    assert.equal(viewValueAt(view, record(T + 1), T).status, 'NOT_FOUND');
    assert.equal(viewValueAt(view, null, T).status, 'NOT_FOUND');
    const failure = new SkewlessError('ONLINE_STORE_UNAVAILABLE', 'down');
    assert.deepEqual(viewValueAt(view, failure, T), { status: 'ERROR', values: null, eventTs: null, error: failure });
  });
});
