/** The ordering and TTL rules every path shares (DESIGN.md: both TTL bounds inclusive). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replaces, statusAt, ttlLowerBound } from '../../../src/features/freshness.ts';

const T = Date.UTC(2026, 10, 21, 12, 0, 0);
const HOUR = 3_600_000;

describe('TTL at T', () => {
  it('serves a row exactly at T and exactly at T − ttl (both bounds inclusive)', () => {
    assert.equal(statusAt(T, T, HOUR), 'PRESENT');
    assert.equal(statusAt(T - HOUR, T, HOUR), 'PRESENT');
  });

  it('expires a row one millisecond older than T − ttl', () => {
    assert.equal(statusAt(T - HOUR - 1, T, HOUR), 'EXPIRED');
  });

  it('never serves a row from after T', () => {
    assert.equal(statusAt(T + 1, T, HOUR), 'FUTURE');
    assert.equal(statusAt(T + 1, T, undefined), 'FUTURE');
  });

  it('has no lower bound without a ttl', () => {
    assert.equal(statusAt(0, T, undefined), 'PRESENT');
    assert.equal(ttlLowerBound(T, undefined), undefined);
    assert.equal(ttlLowerBound(T, HOUR), T - HOUR);
  });
});

describe('which row wins', () => {
  it('prefers the greater event time, then the greater created time', () => {
    assert.equal(replaces({ eventTs: 2, createdTs: 0 }, { eventTs: 1, createdTs: 9 }), true);
    assert.equal(replaces({ eventTs: 1, createdTs: 9 }, { eventTs: 2, createdTs: 0 }), false);
    assert.equal(replaces({ eventTs: 1, createdTs: 2 }, { eventTs: 1, createdTs: 1 }), true);
    assert.equal(replaces({ eventTs: 1, createdTs: 1 }, { eventTs: 1, createdTs: 2 }), false);
  });

  it('lets the later write win an exact tie, and anything replace nothing', () => {
    assert.equal(replaces({ eventTs: 1, createdTs: 1 }, { eventTs: 1, createdTs: 1 }), true);
    assert.equal(replaces({ eventTs: 1, createdTs: 1 }, undefined), true);
  });
});
