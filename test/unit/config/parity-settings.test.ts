/** The continuous-parity settings: documented defaults, 0 turning things off, bad values named with their origin. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../../src/config/config.ts';
import { ConfigError } from '../../../src/errors.ts';

describe('parity settings', () => {
  it('samples 1% of requests, buffers 10000 samples, reconciles every minute what is 2 minutes old, keeps 7 days', () => {
    const config = resolveConfig({}, {});
    assert.equal(config.paritySampleRate, 0.01);
    assert.equal(config.parityBuffer, 10_000);
    assert.equal(config.parityIntervalMs, 60_000);
    assert.equal(config.paritySettleMs, 120_000);
    assert.equal(config.parityRetentionMs, 7 * 24 * 3_600_000);
  });

  it('turns sampling, the loop and retention off with 0', () => {
    const config = resolveConfig({ paritySampleRate: '0', parityInterval: '0s', parityRetention: '0s', paritySettle: '0s' }, {});
    assert.deepEqual([config.paritySampleRate, config.parityIntervalMs, config.parityRetentionMs, config.paritySettleMs], [0, 0, 0, 0]);
  });

  it('takes any fraction from 0 to 1, from a flag or the environment', () => {
    for (const [text, rate] of [['1', 1], ['0.5', 0.5], ['.25', 0.25], ['1.0', 1], ['0.001', 0.001]] as const) {
      assert.equal(resolveConfig({ paritySampleRate: text }, {}).paritySampleRate, rate, text);
    }
    const fromEnv = resolveConfig({}, { SKEWLESS_PARITY_SAMPLE_RATE: '0.2' });
    assert.equal(fromEnv.paritySampleRate, 0.2);
    assert.equal(fromEnv.origins.paritySampleRate, 'environment SKEWLESS_PARITY_SAMPLE_RATE');
  });

  it('refuses a rate outside [0, 1], a buffer of 0 and durations that are none, naming each and its origin', () => {
    for (const rate of ['1.5', '-0.1', '2', '1%', 'often']) {
      assert.throws(() => resolveConfig({ paritySampleRate: rate }, {}), (e: unknown) => e instanceof ConfigError && /--parity-sample-rate \/ SKEWLESS_PARITY_SAMPLE_RATE \(from flag --parity-sample-rate\): expected a fraction from 0 to 1/.test(e.message), rate);
    }
    assert.throws(
      () => resolveConfig({ parityBuffer: '0' }, { SKEWLESS_PARITY_INTERVAL: 'soon', SKEWLESS_PARITY_SETTLE: '2 minutes' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /--parity-buffer \/ SKEWLESS_PARITY_BUFFER \(from flag --parity-buffer\): expected a positive integer/.test(e.message) &&
        /--parity-interval \/ SKEWLESS_PARITY_INTERVAL \(from environment SKEWLESS_PARITY_INTERVAL\): expected a duration/.test(e.message) &&
        /--parity-settle \/ SKEWLESS_PARITY_SETTLE \(from environment SKEWLESS_PARITY_SETTLE\): expected a duration/.test(e.message),
    );
  });
});
