import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseCommandArgs } from '../../../src/cli/args.ts';
import { redactUrl, resolveConfig } from '../../../src/config/config.ts';
import { ConfigError } from '../../../src/errors.ts';

describe('configuration', () => {
  it('uses the documented defaults with nothing set, embedded stores included', () => {
    const config = resolveConfig({}, {});
    assert.equal(config.port, 4000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.schemaDir, path.resolve('schema'));
    assert.equal(config.transformsDir, path.resolve('transforms'));
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.kafkaBrokers, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.origins.port, 'default');
  });

  it('prefers an explicit flag over the environment over the default', () => {
    const env = { PORT: '5000', REDIS_URL: 'redis://127.0.0.1:6380', SKEWLESS_SCHEMA: '/srv/schema' };
    const config = resolveConfig({ port: '6000' }, env);
    assert.equal(config.port, 6000);
    assert.equal(config.origins.port, 'flag --port');
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6380');
    assert.equal(config.origins.redisUrl, 'environment REDIS_URL');
    assert.equal(config.schemaDir, '/srv/schema');
  });

  it('treats empty environment variables as unset', () => {
    assert.equal(resolveConfig({}, { REDIS_URL: '', PORT: ' ' }).redisUrl, undefined);
  });

  it('names every bad setting and where it came from, all at once', () => {
    const env = { DATABASE_URL: 'mysql://x/y', KAFKA_BROKERS: 'localhost:9092,nope' };
    assert.throws(
      () => resolveConfig({ port: '99999', logLevel: 'loud', redisUrl: 'localhost:6379' }, env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'INVALID_CONFIG');
        assert.match(error.message, /--port \/ PORT \(from flag --port\).*99999/);
        assert.match(error.message, /--database-url \/ DATABASE_URL \(from environment DATABASE_URL\)/);
        assert.match(error.message, /--redis-url \/ REDIS_URL \(from flag --redis-url\)/);
        assert.match(error.message, /KAFKA_BROKERS/);
        assert.match(error.message, /LOG_LEVEL/);
        return true;
      },
    );
  });

  it('splits Kafka brokers', () => {
    assert.deepEqual(resolveConfig({}, { KAFKA_BROKERS: '127.0.0.1:19092, kafka-2:9092' }).kafkaBrokers, ['127.0.0.1:19092', 'kafka-2:9092']);
  });

  it('redacts passwords in URLs it logs', () => {
    assert.equal(redactUrl('postgres://app:s3cret@db:5432/features'), 'postgres://app:***@db:5432/features');
  });
});

describe('command-line flags', () => {
  it('maps flags onto settings', () => {
    const args = parseCommandArgs(['--port', '7', '--schema=./s', '--json'], ['json']);
    assert.deepEqual(args.flags, { port: '7', schemaDir: './s' });
    assert.ok(args.switches.has('json'));
  });

  it('refuses an unknown flag, suggesting the closest one', () => {
    assert.throws(() => parseCommandArgs(['--redis-ulr', 'redis://x']), /unknown option --redis-ulr \(did you mean --redis-url\?\)/);
  });

  it('refuses a flag without its value', () => {
    assert.throws(() => parseCommandArgs(['--port']), /option --port needs a value/);
  });
});
