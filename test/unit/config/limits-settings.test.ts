/** The request-limit settings (docs/limits.md): defaults, spellings, refusals, and what auto means for masking. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseByteSize } from '../../../src/config/byte-size.ts';
import { resolveConfig } from '../../../src/config/config.ts';
import { ConfigError } from '../../../src/errors.ts';
import { DEFAULT_REQUEST_LIMITS, requestLimitsOf } from '../../../src/graphql/limits/options.ts';

describe('request limit settings', () => {
  it('default to depth 10, cost 50000, 8 MB bodies, no rate limit, 32 in flight, 8 queued for 250 ms', () => {
    const config = resolveConfig({}, {});
    assert.deepEqual(requestLimitsOf(config), {
      maxDepth: 10,
      maxCost: 50_000,
      maxBodyBytes: 8 * 1024 * 1024,
      rateLimit: 0,
      rateLimitBurst: 1,
      maxInFlight: 32,
      maxQueued: 8,
      queueTimeoutMs: 250,
    });
    assert.deepEqual(DEFAULT_REQUEST_LIMITS, requestLimitsOf(config));
    assert.equal(config.trustedDocuments, undefined);
  });

  it('takes a burst of one second of the rate unless given one', () => {
    assert.equal(resolveConfig({ rateLimit: '20' }, {}).rateLimitBurst, 20);
    assert.equal(resolveConfig({ rateLimit: '0.5' }, {}).rateLimitBurst, 1);
    assert.equal(resolveConfig({ rateLimit: '20', rateLimitBurst: '5' }, {}).rateLimitBurst, 5);
    assert.equal(resolveConfig({}, { SKEWLESS_RATE_LIMIT: '2.5' }).rateLimit, 2.5);
  });

  it('reads sizes in bytes, kb and mb', () => {
    assert.equal(parseByteSize('1048576'), 1_048_576);
    assert.equal(parseByteSize('512kb'), 512 * 1024);
    assert.equal(parseByteSize('8MB'), 8 * 1024 * 1024);
    assert.equal(resolveConfig({ maxBody: '64kb' }, {}).maxBodyBytes, 65_536);
    for (const bad of ['', '0', '-1', '1.5mb', '8 megabytes', 'mb']) assert.equal(parseByteSize(bad), undefined, bad);
  });

  it('masks unexpected errors unless NODE_ENV is development, or as told', () => {
    assert.equal(resolveConfig({}, {}).maskErrors, true);
    assert.equal(resolveConfig({}, { NODE_ENV: 'production' }).maskErrors, true);
    assert.equal(resolveConfig({}, { NODE_ENV: 'development' }).maskErrors, false);
    assert.equal(resolveConfig({ maskErrors: 'on' }, { NODE_ENV: 'development' }).maskErrors, true);
    assert.equal(resolveConfig({ maskErrors: 'off' }, { NODE_ENV: 'production' }).maskErrors, false);
  });

  it('turns load shedding off with --max-in-flight 0 and queueing off with --max-queued 0', () => {
    const config = resolveConfig({ maxInFlight: '0', maxQueued: '0' }, {});
    assert.deepEqual([config.maxInFlight, config.maxQueued], [0, 0]);
  });

  it('names every bad limit and where it came from', () => {
    assert.throws(
      () => resolveConfig({ maxDepth: '0', maxCost: 'lots', maxBody: '8 megabytes', rateLimit: '-1', maxInFlight: '1.5', queueTimeout: 'soon', maskErrors: 'maybe' }, { SKEWLESS_MAX_QUEUED: 'x' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /--max-depth \/ SKEWLESS_MAX_DEPTH \(from flag --max-depth\): expected a positive integer/.test(e.message) &&
        /--max-cost \/ SKEWLESS_MAX_COST \(from flag --max-cost\): expected a positive integer/.test(e.message) &&
        /--max-body \/ SKEWLESS_MAX_BODY \(from flag --max-body\): expected a size in bytes, or with kb or mb/.test(e.message) &&
        /--rate-limit \/ SKEWLESS_RATE_LIMIT \(from flag --rate-limit\): expected requests per second, 0 or more/.test(e.message) &&
        /--max-in-flight \/ SKEWLESS_MAX_IN_FLIGHT \(from flag --max-in-flight\): expected a whole number, 0 or more/.test(e.message) &&
        /--max-queued \/ SKEWLESS_MAX_QUEUED \(from environment SKEWLESS_MAX_QUEUED\): expected a whole number/.test(e.message) &&
        /--queue-timeout \/ SKEWLESS_QUEUE_TIMEOUT \(from flag --queue-timeout\): expected a duration/.test(e.message) &&
        /--mask-errors \/ SKEWLESS_MASK_ERRORS \(from flag --mask-errors\): expected auto, on or off/.test(e.message),
    );
  });
});
