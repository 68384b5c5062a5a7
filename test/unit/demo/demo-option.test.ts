/** --demo / SKEWLESS_DEMO: seed the demo by default only on embedded stores. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../../src/config/config.ts';
import { ConfigError } from '../../../src/errors.ts';

describe('the demo option', () => {
  it('is on by default only when both stores are embedded', () => {
    assert.equal(resolveConfig({}, {}).demo, true);
    assert.equal(resolveConfig({}, { DATABASE_URL: 'postgres://db/features' }).demo, false);
    assert.equal(resolveConfig({}, { REDIS_URL: 'redis://cache:6379' }).demo, false);
    assert.equal(resolveConfig({}, {}).origins.demo, 'default');
  });

  it('follows an explicit on or off, from a flag or the environment', () => {
    assert.equal(resolveConfig({ demo: 'off' }, {}).demo, false);
    assert.equal(resolveConfig({}, { SKEWLESS_DEMO: 'off' }).demo, false);
    assert.equal(resolveConfig({}, { SKEWLESS_DEMO: 'on', DATABASE_URL: 'postgres://db/features', REDIS_URL: 'redis://cache:6379' }).demo, true);
    assert.equal(resolveConfig({ demo: 'auto' }, { SKEWLESS_DEMO: 'off' }).demo, true, 'the flag wins');
  });

  it('refuses anything else, naming the setting and the values it takes', () => {
    assert.throws(
      () => resolveConfig({}, { SKEWLESS_DEMO: 'yes' }),
      (error: unknown) => error instanceof ConfigError && /--demo \/ SKEWLESS_DEMO \(from environment SKEWLESS_DEMO\): expected auto, on or off, got "yes"/.test(error.message),
    );
  });
});
