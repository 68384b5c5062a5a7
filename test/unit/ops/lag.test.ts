import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lagByTopic, partitionLags } from '../../../src/ops/lag.ts';

describe('materializer lag', () => {
  it("is the end offset minus the offset PostgreSQL stored, per partition", () => {
    const lags = partitionLags(
      [
        { topic: 'a', partition: 0, low: 0, high: 100 },
        { topic: 'a', partition: 1, low: 0, high: 50 },
      ],
      new Map([['a/0', 60], ['a/1', 50]]),
    );
    assert.deepEqual(lags, [
      { topic: 'a', partition: 0, end: 100, committed: 60, lag: 40 },
      { topic: 'a', partition: 1, end: 50, committed: 50, lag: 0 },
    ]);
  });

  it('counts everything retained on a partition the group never committed', () => {
    const [lag] = partitionLags([{ topic: 'a', partition: 2, low: 30, high: 75 }], new Map());
    assert.deepEqual(lag, { topic: 'a', partition: 2, end: 75, committed: null, lag: 45 });
  });

  it('counts from the start of the log when retention has passed the stored offset', () => {
    const [lag] = partitionLags([{ topic: 'a', partition: 0, low: 500, high: 520 }], new Map([['a/0', 100]]));
    assert.equal(lag!.lag, 20);
  });

  it('is never negative (offsets stored past a truncated log)', () => {
    const [lag] = partitionLags([{ topic: 'a', partition: 0, low: 0, high: 10 }], new Map([['a/0', 12]]));
    assert.equal(lag!.lag, 0);
  });

  it('sums partitions per topic', () => {
    const lags = partitionLags(
      [
        { topic: 'a', partition: 0, low: 0, high: 10 },
        { topic: 'a', partition: 1, low: 0, high: 5 },
        { topic: 'b', partition: 0, low: 0, high: 3 },
      ],
      new Map([['a/0', 4]]),
    );
    assert.deepEqual(Object.fromEntries(lagByTopic(lags)), { a: 11, b: 3 });
  });
});
