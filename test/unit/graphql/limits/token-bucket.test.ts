/** Token buckets per key, on an injected clock: bursts, refill, Retry-After, and bounded memory. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBuckets } from '../../../../src/graphql/limits/token-bucket.ts';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('TokenBuckets', () => {
  it('lets a quiet key send its burst at once, then refuses with the time until the next token', () => {
    const c = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 2, burst: 3, now: c.now });
    assert.deepEqual([1, 2, 3].map(() => buckets.take('a').ok), [true, true, true]);
    // Empty; at 2 tokens/s the next one is 500 ms away.
    assert.deepEqual(buckets.take('a'), { ok: false, retryAfterMs: 500 });
    c.advance(200);
    // 0.4 of a token so far (a refused request takes nothing): 0.6 more is 300 ms.
    assert.deepEqual(buckets.take('a'), { ok: false, retryAfterMs: 300 });
    c.advance(300);
    assert.deepEqual(buckets.take('a'), { ok: true });
    assert.deepEqual(buckets.take('a'), { ok: false, retryAfterMs: 500 });
  });

  it('refills at the rate and never above the burst', () => {
    const c = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 2, now: c.now });
    buckets.take('a');
    buckets.take('a');
    c.advance(60_000);
    assert.equal(buckets.take('a').ok, true);
    assert.equal(buckets.take('a').ok, true);
    assert.equal(buckets.take('a').ok, false, 'a minute of quiet still buys only the burst');
  });

  it('counts each key on its own', () => {
    const c = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, now: c.now });
    assert.equal(buckets.take('a').ok, true);
    assert.equal(buckets.take('a').ok, false);
    assert.equal(buckets.take('b').ok, true, 'b has its own bucket');
  });

  it('forgets a key once its bucket has refilled completely, which changes nothing for it', () => {
    const c = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 2, now: c.now });
    for (const key of ['a', 'b', 'c']) buckets.take(key);
    assert.equal(buckets.size, 3);
    c.advance(2_000); // 2 tokens at 1/s: every bucket is full again
    buckets.take('d');
    // Each take drops up to two refilled buckets, least recently used first.
    assert.equal(buckets.size, 2);
    buckets.take('d');
    assert.equal(buckets.size, 1);
    // A forgotten key starts with a full burst, exactly what it had.
    assert.equal(buckets.take('a').ok, true);
    assert.equal(buckets.take('a').ok, true);
    assert.equal(buckets.take('a').ok, false);
  });

  it('keeps a bucket that has not refilled, however many keys come after it', () => {
    const c = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, now: c.now });
    buckets.take('a');
    c.advance(500);
    for (let i = 0; i < 10; i++) buckets.take(`k${i}`);
    assert.equal(buckets.take('a').ok, false, 'a is still empty: its bucket was not dropped');
  });

  it('holds at most maxKeys buckets, dropping the least recently used', () => {
    const c = clock();
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 3, now: c.now });
    for (const key of ['a', 'b', 'c', 'd', 'e']) buckets.take(key);
    assert.equal(buckets.size, 3);
    // 'a' and 'b' were dropped although empty: they get a fresh bucket (the price of the bound).
    assert.equal(buckets.take('a').ok, true);
    assert.equal(buckets.take('e').ok, false, 'e, recently used, is still remembered as empty');
  });

  it('refuses a rate that is not positive and a burst under one', () => {
    assert.throws(() => new TokenBuckets({ ratePerSecond: 0, burst: 1 }), RangeError);
    assert.throws(() => new TokenBuckets({ ratePerSecond: 1, burst: 0.5 }), RangeError);
  });
});
