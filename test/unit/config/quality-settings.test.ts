/** The data-quality settings: defaults, parsing and refusals, like every other setting. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../../src/config/config.ts';
import { ConfigError } from '../../../src/errors.ts';
import { DEFAULT_QUALITY_OPTIONS, qualityOptions } from '../../../src/ops/quality/options.ts';

describe('data-quality settings', () => {
  it('default to windows 1h, 24h, 7d, a refresh every 5 minutes, 100,000 rows and 1,000 entities', () => {
    const config = resolveConfig({}, {});
    assert.deepEqual(config.qualityWindows, [
      { label: '1h', ms: 3_600_000 },
      { label: '24h', ms: 86_400_000 },
      { label: '7d', ms: 604_800_000 },
    ]);
    assert.equal(config.qualityIntervalMs, 300_000);
    assert.equal(config.qualityMaxRows, 100_000);
    assert.equal(config.qualityMaxEntities, 1000);
    assert.deepEqual(qualityOptions(config), DEFAULT_QUALITY_OPTIONS);
  });

  it('come from flags or the environment; 0s turns the refresher off', () => {
    const config = resolveConfig({ qualityWindows: '15m,6h' }, { SKEWLESS_QUALITY_INTERVAL: '0s', SKEWLESS_QUALITY_MAX_ROWS: '500', SKEWLESS_QUALITY_MAX_ENTITIES: '20' });
    assert.deepEqual(config.qualityWindows.map((w) => w.label), ['15m', '6h']);
    assert.equal(config.qualityIntervalMs, 0);
    assert.equal(config.qualityMaxRows, 500);
    assert.equal(config.qualityMaxEntities, 20);
    assert.equal(config.origins.qualityWindows, 'flag --quality-windows');
  });

  it('refuse malformed values, naming each', () => {
    assert.throws(
      () => resolveConfig({ qualityWindows: '1h,forever', qualityInterval: 'often', qualityMaxRows: '0', qualityMaxEntities: 'all' }, {}),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const flag of ['--quality-windows', '--quality-interval', '--quality-max-rows', '--quality-max-entities']) assert.match(error.message, new RegExp(flag));
        return true;
      },
    );
  });
});
