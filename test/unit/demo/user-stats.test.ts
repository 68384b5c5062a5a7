/** The simulated nightly job behind user_txn_stats: what it would have pushed each night. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RUN_DELAY_MS, nightlyUserStats } from '../../../src/demo/user-stats.ts';
import type { DemoTransaction } from '../../../src/demo/transactions.ts';

const DAY = 86_400_000;
const midnight = Date.parse('2026-11-20T00:00:00.000Z');
const txn = (userId: string, eventTime: number, amount: number): DemoTransaction => ({ userId, merchantId: 'm1', amount, country: 'GB', eventTime, publishedAt: eventTime + 1000 });

describe('nightly user stats', () => {
  it('summarises each card holder up to each midnight: 7-day count and mean, 30-day sample deviation', () => {
    const transactions = [
      txn('u1', midnight - 10 * DAY, 100), // in the 30 days only
      txn('u1', midnight - 2 * DAY, 10),
      txn('u1', midnight - 1, 20), // the last millisecond before midnight
      txn('u1', midnight, 1000), // at midnight: the next night's
    ];
    const rows = nightlyUserStats(transactions, ['u1', 'u2'], midnight - 12 * 3_600_000, midnight + RUN_DELAY_MS);
    assert.deepEqual(rows, [
      { user_id: 'u1', event_timestamp: midnight, created_timestamp: midnight + RUN_DELAY_MS, txn_count_7d: 2, txn_amount_avg_7d: 15, txn_amount_std_30d: 49.33 },
      { user_id: 'u2', event_timestamp: midnight, created_timestamp: midnight + RUN_DELAY_MS, txn_count_7d: 0, txn_amount_avg_7d: null, txn_amount_std_30d: null },
    ]);
  });

  it('has one row per card holder for every midnight after from whose run had finished by until', () => {
    const from = midnight - 3 * DAY + 5;
    assert.deepEqual(
      nightlyUserStats([], ['u1'], from, midnight + RUN_DELAY_MS - 1).map((r) => new Date(r.event_timestamp).toISOString()),
      ['2026-11-18T00:00:00.000Z', '2026-11-19T00:00:00.000Z'],
    );
    assert.equal(nightlyUserStats([], ['u1', 'u2', 'u3'], from, midnight + RUN_DELAY_MS).length, 9);
  });
});
