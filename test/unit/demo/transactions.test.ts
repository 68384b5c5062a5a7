/** The demo's synthetic transactions: deterministic by seed, inside their month, shaped like card traffic. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DEMO_SHAPE, generateTransactions } from '../../../src/demo/transactions.ts';
import type { DemoShape } from '../../../src/demo/transactions.ts';
import { DEFAULT_TIME_BOUNDS } from '../../../src/materializer/batch.ts';

const DAY = 86_400_000;
const until = Date.parse('2026-11-21T08:51:52.123Z');
const shape: DemoShape = { ...DEFAULT_DEMO_SHAPE, until };
const month = generateTransactions(shape);

describe('demo transactions', () => {
  it('are the same for the same seed and end, and differ with another seed', () => {
    assert.deepEqual(generateTransactions(shape), month);
    const other = generateTransactions({ ...shape, seed: 2 });
    assert.notDeepEqual(other.slice(0, 10), month.slice(0, 10));
  });

  it('are as many as asked, by u1…uN at m1…mM, every card holder and merchant among them', () => {
    assert.equal(month.length, DEFAULT_DEMO_SHAPE.transactions);
    assert.deepEqual(new Set(month.map((t) => t.userId)), new Set(Array.from({ length: shape.users }, (_, i) => `u${i + 1}`)));
    assert.deepEqual(new Set(month.map((t) => t.merchantId)), new Set(Array.from({ length: shape.merchants }, (_, i) => `m${i + 1}`)));
    assert.equal(generateTransactions({ ...shape, transactions: 123, users: 5, merchants: 3 }).length, 123);
  });

  it('lie in [until − days, until), published in order a little after they happened, within the default bounds', () => {
    let previous = -Infinity;
    for (const t of month) {
      assert.ok(t.eventTime >= until - 30 * DAY && t.eventTime < until, `event at ${new Date(t.eventTime).toISOString()}`);
      assert.ok(Number.isInteger(t.eventTime) && Number.isInteger(t.publishedAt));
      assert.ok(t.publishedAt >= t.eventTime && t.publishedAt < until);
      assert.ok(t.eventTime >= t.publishedAt - DEFAULT_TIME_BOUNDS.allowedLatenessMs, 'not late');
      assert.ok(t.eventTime <= t.publishedAt + DEFAULT_TIME_BOUNDS.maxFutureSkewMs, 'not in the future');
      assert.ok(t.publishedAt >= previous, 'publication order');
      previous = t.publishedAt;
    }
    const last24h = month.filter((t) => t.eventTime >= until - DAY).length;
    assert.ok(last24h > month.length / 60 && last24h < month.length / 15, `about a thirtieth in the last day, got ${last24h} of ${month.length}`);
  });

  it('follow a daily rhythm: lunchtime is busier than the small hours', () => {
    const byHour = new Array<number>(24).fill(0);
    for (const t of month) byHour[new Date(t.eventTime).getUTCHours()]!++;
    assert.ok(byHour[12]! > 5 * byHour[3]!, `12h ${byHour[12]} vs 3h ${byHour[3]}`);
  });

  it('have positive amounts in cents that differ by merchant, and card holders who return to a few merchants', () => {
    for (const t of month) {
      assert.ok(t.amount >= 0.5, `amount ${t.amount}`);
      assert.ok(Math.abs(t.amount * 100 - Math.round(t.amount * 100)) < 1e-6, `amount ${t.amount} in cents`);
    }
    const medianOf = (merchant: string) => {
      const xs = month.filter((t) => t.merchantId === merchant).map((t) => t.amount).sort((a, b) => a - b);
      return xs[xs.length >> 1]!;
    };
    const medians = Array.from({ length: shape.merchants }, (_, i) => medianOf(`m${i + 1}`));
    assert.ok(Math.max(...medians) > 4 * Math.min(...medians), 'typical tickets differ between merchants');
    const perMerchant = new Map<string, number>();
    for (const t of month) perMerchant.set(t.merchantId, (perMerchant.get(t.merchantId) ?? 0) + 1);
    assert.ok(Math.min(...perMerchant.values()) >= 20, 'every merchant has a baseline to speak of');
    const u1 = month.filter((t) => t.userId === 'u1');
    assert.ok(new Set(u1.map((t) => t.merchantId)).size < u1.length / 2, 'u1 mostly returns to favourites');
  });
});
