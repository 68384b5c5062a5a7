/**
 * Raw events online in buckets (stores/online-pieces.ts): which bucket each event goes to and for how long,
 * which buckets a read asks for, and each member read once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rawEventBucketWidth, rawEventWidths, rawEventsFrom } from '../../../src/features/aggregate/tiles.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { bucketExpiry, bucketMembers, eventBucketKey, eventBucketKeys, eventBuckets, eventKeysPattern, eventsKey, onlineEvent, piecesScriptCall } from '../../../src/stores/online-pieces.ts';
import type { PiecesWrite } from '../../../src/stores/online-pieces.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
// Buckets of 5 minutes for features whose finest slice is 5 minutes: each kept the slack past its end.
const [W, SLACK] = [300_000, 120_000];
const KEEP = SLACK;
const event = (time: number, offset: number) => onlineEvent(time, { topic: 't', partition: 1, offset }, `{"i":${offset}}`);
const write = (events: ReturnType<typeof event>[], now = NOW): PiecesWrite => ({
  view: 'v',
  entity: 'User',
  entityKey: 'u1',
  pieces: true,
  fields: [],
  events,
  prune: { now, everyMs: 60_000, pieces: [], eventFrom: now - W - SLACK, eventBucketMs: W, eventWidths: [W], eventSlackMs: SLACK, expireMs: 86_400_000 },
});

/** An aggregation view `w` of the given features over a `Tx` source. */
async function viewOf(...features: string[]): Promise<AggregationView> {
  const registry = await registryFromSdl(`type User @entity(key: ["user_id"]) { user_id: ID! }
    type Tx @source(topic: "tx", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
    type W @featureView(entity: "User", source: "Tx", name: "w") { ${features.join(' ')} }`);
  return registry.view('w') as AggregationView;
}

describe('event buckets', () => {
  it('groups a write by bucket, members in order, each followed by a newline, with an expiry from the bucket end', () => {
    const [a, b, c, d] = [event(NOW - 1, 1), event(NOW, 2), event(NOW - 2, 3), event(NOW + W, 4)];
    const buckets = eventBuckets(write([a, b, c, d]));
    assert.deepEqual(buckets, [
      { start: NOW - W, ttl: KEEP, text: `${a.member}\n${c.member}\n` },
      { start: NOW, ttl: W + KEEP, text: `${b.member}\n` },
      { start: NOW + W, ttl: 2 * W + KEEP, text: `${d.member}\n` },
    ]);
  });

  it('leaves out a bucket that has expired by the writer clock, and only that one', () => {
    // The bucket before NOW − W ended at NOW − W: it lasts until NOW − W + KEEP.
    const late = NOW - W + KEEP;
    const buckets = eventBuckets(write([event(NOW - W - 1, 1), event(NOW - 1, 2)], late));
    assert.deepEqual(
      buckets.map((b) => [b.start, b.ttl]),
      [[NOW - W, W]],
    );
    assert.deepEqual(eventBuckets(write([event(NOW - 1, 2)], late + W)), []);
  });

  it('gives the script one key per bucket after the hash and the earlier sorted set, in the order of the arguments', () => {
    const { keys, args } = piecesScriptCall('H', [
      { hash: 'h1', write: write([event(NOW - 1, 1), event(NOW, 2)]) },
      { hash: 'h2', write: write([]) },
    ]);
    assert.deepEqual(keys, ['h1', 'h1:events', eventBucketKey('h1', W, NOW - W), eventBucketKey('h1', W, NOW), 'h2', 'h2:events']);
    assert.deepEqual(args, ['H', 0, 2, KEEP, `${event(NOW - 1, 1).member}\n`, W + KEEP, `${event(NOW, 2).member}\n`, 0, 0]);
  });

  it('reads the buckets a range touches: one when it starts on a bucket, two across a boundary', () => {
    assert.deepEqual(eventBucketKeys('h', { from: NOW, to: NOW + 5, bucketMs: W }), [eventBucketKey('h', W, NOW)]);
    assert.deepEqual(eventBucketKeys('h', { from: NOW - 1, to: NOW + 5, bucketMs: W }), [eventBucketKey('h', W, NOW - W), eventBucketKey('h', W, NOW)]);
    assert.deepEqual(eventBucketKeys('h', { from: NOW - 1, to: NOW, bucketMs: W }), [eventBucketKey('h', W, NOW - W)], 'to is excluded');
  });

  it('reads each member once, from buckets and the sorted set alike', () => {
    const [a, b, c] = [event(NOW - 3, 1).member, event(NOW - 2, 2).member, event(NOW - 1, 3).member];
    assert.deepEqual(bucketMembers([a], [`${a}\n${b}\n${b}\n`, null, `${c}\n${a}\n`]), [a, b, c]);
    assert.deepEqual(bucketMembers([], [null, '']), []);
  });

  it('reads each event once, from buckets and the sorted set alike, the later copy when its inputs differ', () => {
    const e = (json: string) => onlineEvent(NOW - 1, { topic: 't', partition: 1, offset: 7 }, json).member;
    assert.deepEqual(bucketMembers([e('{"a":1}')], [`${e('{"a":1}')}\n${e('{"a":1,"b":2}')}\n`]), [e('{"a":1,"b":2}')]);
  });

  it("gives a view with finest widths of 5 m and 24 m buckets of 5 m; a read's events lie in at most six, each still held", async () => {
    const view = await viewOf(
      'n: Int! @aggregate(fn: COUNT, window: "1d", hop: "1h", slice: "5m")',
      'last: Float @aggregate(fn: LAST, of: "amount", window: "7d", hop: "1d", slice: "24m")',
    );
    const width = rawEventBucketWidth(view);
    assert.deepEqual([width, [...rawEventWidths(view)].sort((a, b) => a - b)], [5 * 60_000, [5 * 60_000, 24 * 60_000]]);
    // Over a day of instants, every 7 seconds: the range from rawEventsFrom to T spans one to six buckets
    // (none when T starts every finest slice, so that the range is empty), each still held at T by a writer
    // whose clock is T (the slack is for a gateway clock behind the writer's: 0 here).
    const prune = { ...write([]).prune, eventBucketMs: width, eventWidths: rawEventWidths(view), eventSlackMs: 0 };
    const counts = new Set<number>();
    for (let t = NOW; t < NOW + 86_400_000; t += 7_000) {
      const from = rawEventsFrom(view, t);
      const keys = eventBucketKeys('h', { from, to: t, bucketMs: width });
      assert.ok(from === t ? keys.length === 0 : keys.length >= 1 && keys.length <= 6, `${t}: ${keys.length}`);
      for (const key of keys) assert.ok(t < bucketExpiry(prune, Number(key.slice(key.lastIndexOf(':') + 1))), `${t}: ${key} expired`);
      counts.add(keys.length);
    }
    assert.deepEqual([...counts].sort(), [0, 1, 2, 3, 4, 5, 6]);
    // And no longer than needed: a bucket expires once no T from then on reads it.
    for (let start = NOW; start < NOW + 86_400_000; start += width) {
      const expiry = bucketExpiry(prune, start);
      assert.ok(rawEventsFrom(view, expiry) >= start + width, `${start}: still read at its expiry`);
      assert.ok(rawEventsFrom(view, expiry - 1) < start + width, `${start}: expires later than it could`);
    }
  });

  it('keeps a bucket no longer than its end (and the slack) when all features share one finest width', async () => {
    const view = await viewOf(
      'n: Int! @aggregate(fn: COUNT, window: "1d", hop: "1h", slice: "5m")',
      'total: Float! @aggregate(fn: SUM, of: "amount", window: "2h", hop: "1h", slice: "5m")',
    );
    assert.deepEqual([rawEventBucketWidth(view), rawEventWidths(view)], [5 * 60_000, [5 * 60_000]]);
    const prune = { ...write([]).prune, eventWidths: rawEventWidths(view) };
    assert.equal(bucketExpiry(prune, NOW), NOW + W + SLACK);
    // A read at any T inside a bucket starts at the bucket's start: the one before is never read again.
    for (let t = NOW + 1; t < NOW + 3_600_000; t += 7_001) assert.equal(rawEventsFrom(view, t), Math.floor(t / 300_000) * 300_000);
  });

  it('gives a view of 1 s and 1 h finest widths buckets of a sixteenth of an hour, not of a second', async () => {
    const view = await viewOf(
      'n: Int! @aggregate(fn: COUNT, window: "1h", hop: "1m")',
      'total: Float! @aggregate(fn: SUM, of: "amount", window: "1d", hop: "1h", slice: "1h")',
    );
    assert.deepEqual([...rawEventWidths(view)].sort((a, b) => a - b), [1_000, 3_600_000]);
    assert.equal(rawEventBucketWidth(view), 225_000);
    for (let t = NOW + 1; t < NOW + 7_200_000; t += 7_001) assert.ok(eventBucketKeys('h', { from: rawEventsFrom(view, t), to: t, bucketMs: 225_000 }).length <= 17);
  });

  it("has one glob for a hash's raw-event keys, buckets and the sorted set of earlier versions, its own glob characters escaped", () => {
    const hash = '{User:a*b?[c]\\d}:v';
    const pattern = eventKeysPattern(hash);
    assert.equal(pattern, '{User:a\\*b\\?\\[c\\]\\\\d}:v:events*');
    // Redis's glob, for these characters: a backslash makes the next one literal, `*` matches any run.
    const matches = (key: string) => new RegExp(`^${pattern.replace(/\\(.)|(\*)|([^\\*])/g, (_, lit: string, star: string, c: string) => (star ? '.*' : (lit ?? c).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))}$`).test(key);
    assert.ok(matches(eventsKey(hash)) && matches(eventBucketKey(hash, W, NOW)));
    assert.ok(!matches(hash) && !matches('{User:aXb?[c]\\d}:v:events'), 'not the hash, nor another key the unescaped glob would match');
  });
});
