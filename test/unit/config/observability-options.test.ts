/** --metrics-port and --freshness-interval: the observability settings. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../../src/config/config.ts';
import { ConfigError } from '../../../src/errors.ts';

describe('observability settings', () => {
  it('default to metrics on port 9464 and freshness read every 15 s', () => {
    const config = resolveConfig({}, {});
    assert.equal(config.metricsPort, 9464);
    assert.equal(config.freshnessIntervalMs, 15_000);
  });

  it('take 0 for a free metrics port and off for none', () => {
    assert.equal(resolveConfig({ metricsPort: '0' }, {}).metricsPort, 0);
    assert.equal(resolveConfig({}, { SKEWLESS_METRICS_PORT: 'off' }).metricsPort, undefined);
    assert.equal(resolveConfig({}, { SKEWLESS_FRESHNESS_INTERVAL: '1m' }).freshnessIntervalMs, 60_000);
  });

  it('refuse a bad port and an interval under a second, naming the setting', () => {
    for (const [flags, pattern] of [
      [{ metricsPort: '70000' }, /--metrics-port \/ SKEWLESS_METRICS_PORT \(from flag --metrics-port\): expected a TCP port from 0 to 65535, or off/],
      [{ metricsPort: 'none' }, /--metrics-port/],
      [{ freshnessInterval: '500ms' }, /--freshness-interval \/ SKEWLESS_FRESHNESS_INTERVAL .*at least 1s/],
      [{ freshnessInterval: 'often' }, /--freshness-interval/],
    ] as const) {
      assert.throws(() => resolveConfig(flags, {}), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
    }
  });
});
