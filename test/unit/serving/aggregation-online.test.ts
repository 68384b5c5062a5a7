/**
 * Raw events online as earlier versions kept them (hash fields) next to the sorted set: both are folded,
 * and an event in both (an upgrade's rebuild rewrote it into the set) is folded once. A head tile whose
 * events lie in one slice stands in for its slices (lazy slices), and only then.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AggregationView } from '../../../src/registry/types.ts';
import { aggregationValueAt, eventRangeAt } from '../../../src/serving/aggregation-online.ts';
import { aggregatorFor } from '../../../src/features/aggregate/aggregators.ts';
import { encodePiece, onlineEvent, sliceField, tileField } from '../../../src/stores/online-pieces.ts';
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

  it('takes a head tile whose events lie in one slice whole once T is past that slice, ignoring slice rows there; by its slices otherwise', async () => {
    const registry = await registryFromSdl(`type User @entity(key: ["user_id"]) { user_id: ID! }
      type Tx @source(topic: "tx", timestamp: "at") { user_id: ID! at: DateTime! }
      type D @featureView(entity: "User", source: "Tx", name: "d") { n: Int! @aggregate(fn: COUNT, window: "24h", slice: "5m") }`);
    const view = registry.view('d') as AggregationView;
    const count = aggregatorFor(view.features[0]!.aggregation!);
    const partial = (n: number) => { let state = count.empty(); for (let i = 0; i < n; i++) state = count.add(state, 1, 0); return count.encodeText(state); };
    const H = 3_600_000;
    const M = 60_000;
    const hour = Date.UTC(2026, 10, 21, 12);
    const [e1, e2] = [hour + 10 * M + 5_000, hour + 12 * M];
    const tile = (span: string) => [tileField(H, hour), encodePiece(3, `{"n":${partial(2)}${span}}`)] as const;
    // A slice row holding part of the tile's events, as a commit planned from a stale cache may leave.
    const stale = [sliceField(5 * M, hour + 10 * M), encodePiece(1, `{"n":${partial(1)}}`)] as const;
    const events = [e1, e2].map((time, offset) => onlineEvent(time, { topic: 'tx', partition: 0, offset }, '{}').member);
    const at = (asOf: number, pieces: readonly (readonly [string, string])[]) => aggregationValueAt(view, { pieces: Object.fromEntries(pieces), events }, asOf).values;
    const spanned = tile(`,"$events":[${e1},${e2}]`);
    assert.deepEqual(at(hour + 40 * M, [spanned, stale]), { n: 2 }, 'the tile, not the tile and the slice row');
    assert.deepEqual(at(hour + 15 * M, [spanned]), { n: 2 }, 'from the end of its slice on');
    assert.deepEqual(at(hour + 12 * M + 30_000, [spanned]), { n: 2 }, "in its slice: the slice's raw events");
    assert.deepEqual(at(hour + 11 * M, [spanned]), { n: 1 });
    // Spread over two slices: whole once T is past its last event; while its span straddles T, and with no
    // span (a row from before spans), read by its slices (the partial slice row here: 1 of its 2 events).
    const spread = tile(`,"$events":[${e1},${hour + 31 * M}]`);
    assert.deepEqual(at(hour + 40 * M, [spread, stale]), { n: 2 });
    assert.deepEqual(at(hour + 31 * M, [spread, stale]), { n: 1 }, 'T at its last event: straddled');
    assert.deepEqual(at(hour + 40 * M, [tile(''), stale]), { n: 1 });
  });

  it('settles the head by the head tile whose span does not straddle T, without its slices or raw events', async () => {
    const registry = await registryFromSdl(`type User @entity(key: ["user_id"]) { user_id: ID! }
      type Tx @source(topic: "tx", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type D @featureView(entity: "User", source: "Tx", name: "d") {
        n: Int! @aggregate(fn: COUNT, window: "24h", slice: "5m")
        total: Float! @aggregate(fn: SUM, of: "amount", window: "24h", slice: "5m")
      }`);
    const view = registry.view('d') as AggregationView;
    const [count, sum] = view.features.map((f) => aggregatorFor(f.aggregation!));
    const [H, M] = [3_600_000, 60_000];
    const hour = Date.UTC(2026, 10, 21, 12);
    const amounts = [0.1, 0.2, 0.7];
    const times = [hour + 7 * M, hour + 7 * M, hour + 8 * M + 1];
    const partials = (upTo: number) => {
      let [n, s] = [count!.empty(), sum!.empty()];
      for (let i = 0; i < upTo; i++) [n, s] = [count!.add(n, 1, times[i]!), sum!.add(s, amounts[i]!, times[i]!)];
      return `{"n":${count!.encodeText(n)},"total":${sum!.encodeText(s)}`;
    };
    // Two events at one time: no slice row, no raw event held (as a writer that keeps a single-time tile's
    // events in no bucket leaves it), and the value is still every event before T.
    const single = { [tileField(H, hour)]: encodePiece(1, `${partials(2)},"$events":[${times[0]},${times[1]}]}`) };
    const read = (pieces: Record<string, string>, events: string[], asOf: number) => aggregationValueAt(view, { pieces, events }, asOf).values;
    assert.deepEqual(read(single, [], times[0]! + 1), { n: 2, total: 0.1 + 0.2 });
    assert.deepEqual(read(single, [], times[0]!), { n: 0, total: 0 }, 'at the events: none before T');
    // Raw events held as well are not counted twice, whichever way the head is settled.
    const raw = times.map((time, offset) => onlineEvent(time, { topic: 'tx', partition: 0, offset }, JSON.stringify({ amount: amounts[offset] })).member);
    assert.deepEqual(read(single, raw.slice(0, 2), times[0]! + 1), { n: 2, total: 0.1 + 0.2 });
    assert.deepEqual(read(single, raw.slice(0, 2), times[0]!), { n: 0, total: 0 });
    // Straddling T: its raw events of T's slice (here all three lie in it) say which precede T.
    const spread = { [tileField(H, hour)]: encodePiece(2, `${partials(3)},"$events":[${times[0]},${times[2]}]}`) };
    assert.deepEqual(read(spread, raw, times[2]!), { n: 2, total: 0.1 + 0.2 });
    assert.deepEqual(read(spread, raw, times[2]! + 1), { n: 3, total: 0.1 + 0.2 + 0.7 });
    assert.deepEqual(read(spread, [], times[2]! + 1), { n: 3, total: 0.1 + 0.2 + 0.7 }, 'past its last event: whole');
    // A head tile without a feature's partial (the feature added to the view after it was written) holds
    // none of that feature's events, whatever raw events are held, as historical reads take it.
    const added = { [tileField(H, hour)]: encodePiece(1, `{"n":${count!.encodeText(count!.add(count!.add(count!.empty(), 1, times[0]!), 1, times[1]!))},"$events":[${times[0]},${times[1]}]}`) };
    assert.deepEqual(read(added, raw.slice(0, 2), times[0]! + 1), { n: 2, total: 0 });
  });

  it('takes such a head tile whole for a width written as events come too (a feature of another hop shares it)', async () => {
    const registry = await registryFromSdl(`type User @entity(key: ["user_id"]) { user_id: ID! }
      type Tx @source(topic: "tx", timestamp: "at") { user_id: ID! at: DateTime! }
      type E @featureView(entity: "User", source: "Tx", name: "e") {
        n: Int! @aggregate(fn: COUNT, window: "24h", slice: "5m")
        m: Int! @aggregate(fn: COUNT, window: "2h", hop: "30m", slice: "5m")
      }`);
    const view = registry.view('e') as AggregationView;
    const count = aggregatorFor(view.features[0]!.aggregation!);
    const partial = (n: number) => { let state = count.empty(); for (let i = 0; i < n; i++) state = count.add(state, 1, 0); return count.encodeText(state); };
    const [H, M] = [3_600_000, 60_000];
    const hour = Date.UTC(2026, 10, 21, 12);
    // Two events at 12:02 and 12:03, in the 1h tile; the slice row written as they came holds one of them
    // (the other came while the width was lazy, before the 30m feature joined the view).
    const pieces = {
      [tileField(H, hour)]: encodePiece(2, `{"n":${partial(2)},"$events":[${hour + 2 * M},${hour + 3 * M}]}`),
      [tileField(30 * M, hour)]: encodePiece(2, `{"m":${partial(2)},"$events":[${hour + 2 * M},${hour + 3 * M}]}`),
      [sliceField(5 * M, hour)]: encodePiece(1, `{"n":${partial(1)},"m":${partial(1)}}`),
    };
    assert.deepEqual(aggregationValueAt(view, { pieces, events: [] }, hour + 20 * M).values, { n: 2, m: 2 });
  });
});
