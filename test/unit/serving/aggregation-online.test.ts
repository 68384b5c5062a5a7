/**
 * Raw events online as earlier versions kept them (hash fields) next to the sorted set: both are folded,
 * and an event in both (an upgrade's rebuild rewrote it into the set) is folded once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AggregationView } from '../../../src/registry/types.ts';
import { aggregationValueAt, eventRangeAt } from '../../../src/serving/aggregation-online.ts';
import { encodePiece, onlineEvent } from '../../../src/stores/online-pieces.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const SDL = `type User @entity(key: ["user_id"]) { user_id: ID! }
  type Tx @source(topic: "tx", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
  type W @featureView(entity: "User", source: "Tx", name: "w") {
    n: Int! @aggregate(fn: COUNT, window: "1h")
    total: Float! @aggregate(fn: SUM, of: "amount", window: "1h")
  }`;
const T = Date.UTC(2026, 10, 21, 12, 0, 30, 500);

describe('aggregation values online: raw events in the hash and in the set', () => {
  it('folds both, an event held in both once, and only those of the range', async () => {
    const view = (await registryFromSdl(SDL)).view('w') as AggregationView;
    const at = (offset: number, amount: number, time: number) => ({ position: { topic: 'tx', partition: 0, offset }, json: JSON.stringify({ amount }), time });
    const [a, b, c] = [at(1, 1, T - 100), at(2, 10, T - 200), at(3, 100, T - 300)];
    const legacy = (e: typeof a) => [`E:${e.time}:tx/0/${e.position.offset}`, encodePiece(0, e.json)] as const;
    const pieces = Object.fromEntries([legacy(a), legacy(b)]);
    const events = [b, c].map((e) => onlineEvent(e.time, e.position, e.json).member);
    const value = aggregationValueAt(view, { pieces, events }, T);
    assert.deepEqual(value.values, { n: 3, total: 111 });
    // An event dated at T is not in the window, from the hash or the set.
    const late = at(4, 1000, T);
    const withLate = aggregationValueAt(view, { pieces: Object.fromEntries([...Object.entries(pieces), legacy(late)]), events }, T);
    assert.deepEqual(withLate.values, { n: 3, total: 111 });
    // One dated before the range (a store may return the rest of the range's buckets): skipped too.
    const before = at(5, 10_000, Date.UTC(2026, 10, 21, 12, 0, 29, 999));
    const withBefore = aggregationValueAt(view, { pieces, events: [...events, onlineEvent(before.time, before.position, before.json).member] }, T);
    assert.deepEqual(withBefore.values, { n: 3, total: 111 });
    assert.deepEqual(eventRangeAt(view, T), { from: Date.UTC(2026, 10, 21, 12, 0, 30), to: T, bucketMs: 1000 }, "a 1m hop's raw events are those of T's second, in buckets of a second");
  });

  it('answers a raw event it cannot read with ONLINE_VALUE_CORRUPT, for this entity only', async () => {
    const view = (await registryFromSdl(SDL)).view('w') as AggregationView;
    for (const member of ['no-time-here', `${T - 5}:tx/0/1|{not json`]) {
      const value = aggregationValueAt(view, { pieces: {}, events: [member] }, T);
      assert.equal(value.status, 'ERROR', member);
      assert.equal(value.error?.code, 'ONLINE_VALUE_CORRUPT', member);
    }
  });
});
