import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../../src/features/duration.ts';
import { defaultHopMs } from '../../../src/features/windows.ts';
import { parseFeatureRef, snakeCase } from '../../../src/features/names.ts';
import { toEpochMs, toIso } from '../../../src/features/time.ts';

describe('durations', () => {
  it('parses single and compound durations', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('3d'), 259_200_000);
    assert.equal(parseDuration('1w'), 604_800_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
  });

  it('rejects anything else', () => {
    for (const bad of ['', '3', 'd', '3 d', '3days', '-1h', '1.5h', '1h ', '1y', 'h1']) assert.equal(parseDuration(bad), undefined, bad);
  });

  it('formats the shortest exact spelling, round-tripping', () => {
    for (const text of ['1d', '1h30m', '5m', '1s', '30d', '2d12h']) assert.equal(formatDuration(parseDuration(text)!), text);
  });
});

describe('default hops', () => {
  it('bounds the number of tiles per window', () => {
    assert.equal(defaultHopMs(parseDuration('1h')!), parseDuration('1m'));
    assert.equal(defaultHopMs(parseDuration('6h')!), parseDuration('5m'));
    assert.equal(defaultHopMs(parseDuration('24h')!), parseDuration('1h'));
    assert.equal(defaultHopMs(parseDuration('7d')!), parseDuration('1h'));
    assert.equal(defaultHopMs(parseDuration('30d')!), parseDuration('1d'));
    assert.equal(defaultHopMs(parseDuration('90d')!), parseDuration('1d'));
  });

  it('always divides the window', () => {
    for (const w of ['10s', '90s', '7m', '61m', '11h7m', '13d1h', '45d']) {
      const ms = parseDuration(w)!;
      const hop = defaultHopMs(ms);
      assert.equal(ms % hop, 0, w);
      assert.ok(hop <= ms, w);
    }
  });
});

describe('names', () => {
  it('snake-cases type names into view names', () => {
    assert.equal(snakeCase('UserTxnStats'), 'user_txn_stats');
    assert.equal(snakeCase('FraudModelV1'), 'fraud_model_v1');
    assert.equal(snakeCase('HTTPSignals'), 'http_signals');
    assert.equal(snakeCase('MerchantBaseline'), 'merchant_baseline');
  });

  it('parses feature refs', () => {
    assert.deepEqual(parseFeatureRef('a:b'), { view: 'a', feature: 'b' });
    assert.deepEqual(parseFeatureRef('a'), { view: 'a', feature: undefined });
    for (const bad of ['', 'a:', ':b', 'a:b:c']) assert.equal(parseFeatureRef(bad), undefined, bad);
  });
});

describe('timestamps', () => {
  it('accepts ISO-8601 with a zone and epoch milliseconds', () => {
    assert.equal(toEpochMs('2026-11-21T05:31:09Z'), Date.UTC(2026, 10, 21, 5, 31, 9));
    assert.equal(toEpochMs('2026-11-21T06:31:09.250+01:00'), Date.UTC(2026, 10, 21, 5, 31, 9, 250));
    assert.equal(toEpochMs(1_700_000_000_000), 1_700_000_000_000);
  });

  it('refuses zone-less, malformed and fractional inputs', () => {
    for (const bad of ['2026-11-21T05:31:09', '2026-11-21', 'yesterday', 1.5, null, undefined, '2026-13-45T00:00:00Z']) {
      assert.equal(toEpochMs(bad), undefined, String(bad));
    }
  });

  it('prints UTC with milliseconds', () => {
    assert.equal(toIso(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), '2026-01-02T03:04:05.006Z');
  });
});
