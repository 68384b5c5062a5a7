/**
 * foldTiles adds an event that feeds a feature's slice to the slice only, and builds the tile's partial
 * from its slices: every tile and slice delta must still equal the plain fold of the events it covers,
 * for every aggregation, whichever events fed slices and whichever did not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inputValue } from '../../../src/features/aggregate/aggregators.ts';
import type { SourceEvent } from '../../../src/materializer/decode.ts';
import { feedsSlices } from '../../../src/materializer/online-retention.ts';
import { eventKeys, foldTiles, foldTilesYielding, lazySlicesOf } from '../../../src/materializer/tiles.ts';
import type { TileDelta } from '../../../src/materializer/tiles.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { random } from '../../helpers/random.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

// One tile group of a 1h hop whose features have 1m, 5m and no slices, a 5m slice group shared with a
// 30m hop, and every aggregation function.
const SDL = `
  type User @entity(key: ["user_id"]) { user_id: ID! }
  type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! merchant: String at: DateTime! }
  type Windows @featureView(entity: "User", source: "Txn") {
    n: Int! @aggregate(fn: COUNT, window: "24h")
    total: Float! @aggregate(fn: SUM, of: "amount", window: "24h", slice: "5m")
    mean: Float @aggregate(fn: AVG, of: "amount", window: "24h", slice: "5m")
    low: Float @aggregate(fn: MIN, of: "amount", window: "24h")
    high: Float @aggregate(fn: MAX, of: "amount", window: "24h", slice: "1h")
    sd: Float @aggregate(fn: STDDEV, of: "amount", window: "24h")
    v: Float @aggregate(fn: VARIANCE, of: "amount", window: "2h", hop: "30m", slice: "5m")
    first: Float @aggregate(fn: FIRST, of: "amount", window: "24h", slice: "5m")
    last: String @aggregate(fn: LAST, of: "merchant", window: "24h")
    merchants: Int! @aggregate(fn: COUNT_DISTINCT, of: "merchant", window: "24h", slice: "5m")
    approx: Int! @aggregate(fn: APPROX_COUNT_DISTINCT, of: "merchant", window: "24h")
    p90: Float @aggregate(fn: APPROX_PERCENTILE, of: "amount", window: "24h", percentile: 0.9, slice: "5m")
  }
`;

/** Events over the three hours before `now`, some produced long after their time (they feed no slices). */
function randomEvents(seed: number, now: number): SourceEvent[] {
  const r = random(seed);
  return Array.from({ length: 600 }, (_, offset) => {
    const eventTs = now - Math.floor(r() * 3 * H);
    const messageTs = r() < 0.2 ? eventTs + Math.floor(r() * 2 * H) : eventTs + Math.floor(r() * 5 * S);
    const fields = { user_id: `u${Math.floor(r() * 4)}`, amount: Math.round(r() * 1e5) / 100 - 200, merchant: r() < 0.1 ? null : `m${Math.floor(r() * 30)}`, at: eventTs };
    return { topic: 'txns', partition: 0, offset, source: 'Txn', eventTs, messageTs, fields };
  });
}

/** Each feature's partial of the given events, folded one by one. */
function plainFold(delta: TileDelta, events: readonly SourceEvent[]): string[] {
  const { aggregations, aggregators } = delta.group;
  return aggregators.map((aggregator, i) => {
    let state = aggregator.empty();
    for (const event of events) state = aggregator.add(state, inputValue(aggregations[i]!, event.fields), event.eventTs);
    return JSON.stringify(aggregator.encode(state));
  });
}

const encoded = (delta: TileDelta) => delta.group.aggregators.map((a, i) => JSON.stringify(a.encode(delta.partials[i])));

describe('foldTiles', () => {
  for (const seed of [1, 2, 3]) {
    it(`gives every tile and slice the plain fold of its events, tiles built from slices (seed ${seed})`, async () => {
      const registry = await registryFromSdl(SDL);
      const view = registry.views.find((v) => v.name === 'windows') as AggregationView;
      const now = Date.UTC(2026, 10, 22, 10, 47, 31, 250);
      const events = randomEvents(seed, now);
      const deltas = foldTiles(registry, new Map([['Txn', events]]), now);
      let sliced = 0;
      for (const delta of deltas) {
        const covered = events.filter(
          (e) => e.fields.user_id === delta.entityKey && e.eventTs >= delta.start && e.eventTs < delta.end && (delta.group.kind === 'tile' || feedsSlices(delta.group, e, now)),
        );
        assert.ok(covered.length > 0, 'no delta without events');
        assert.deepEqual(encoded(delta), plainFold(delta, covered), `${delta.group.kind} ${delta.group.widthMs} of ${delta.entityKey} at ${delta.start}`);
        if (delta.group.kind === 'slice') sliced += covered.length;
      }
      assert.ok(sliced > 100 && sliced < 2 * events.length, `the draw feeds some slices and not others: ${sliced}`);
      const tiles = new Set(events.flatMap((e) => [...new Set(view.features.map((f) => f.aggregation!.hopMs))].map((hop) => `${e.fields.user_id}/${hop}/${e.eventTs - (e.eventTs % hop)}`)));
      assert.equal(deltas.filter((d) => d.group.kind === 'tile').length, tiles.size, 'one tile delta per (entity, hop, tile) with events');
    });
  }

  it("makes a lazy group's slice only once a tile's events leave one slice or one feeds no slices, each slice with exactly its fed events", async () => {
    const registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type Lazy @featureView(entity: "User", source: "Txn") {
        n: Int! @aggregate(fn: COUNT, window: "24h", slice: "5m")
        total: Float! @aggregate(fn: SUM, of: "amount", window: "24h", slice: "5m")
      }
    `);
    const now = Date.UTC(2026, 10, 22, 10, 47, 31);
    const at = (minute: number, second: number) => Date.UTC(2026, 10, 22, 10, minute, second);
    let offset = 0;
    const event = (user: string, eventTs: number, amount: number, messageTs = eventTs): SourceEvent => ({ topic: 'txns', partition: 0, offset: offset++, source: 'Txn', eventTs, messageTs, fields: { user_id: user, amount, at: eventTs } });
    const events = [
      // One slice: the tile alone holds them.
      event('one', at(20, 5), 1.5),
      event('one', at(24, 40), 2.25),
      // Two slices.
      event('two', at(20, 5), 4),
      event('two', at(31, 10), 8),
      event('two', at(21, 0), 16),
      // One slice, then an event produced an hour and more later: it feeds no slice, the first stays apart.
      event('late', at(20, 5), 32),
      event('late', at(22, 30), 64, Date.UTC(2026, 10, 22, 12, 0, 0)),
    ];
    const deltas = foldTiles(registry, new Map([['Txn', events]]), now);
    const tile = (user: string) => deltas.find((d) => d.group.kind === 'tile' && d.entityKey === user)!;
    const made = (user: string) => deltas.filter((d) => d.group.kind === 'slice' && d.entityKey === user).map((d) => d.start);
    assert.deepEqual(made('one'), []);
    assert.deepEqual(made('two').sort(), [at(20, 0), at(30, 0)]);
    assert.deepEqual(made('late'), [at(20, 0)]);
    for (const user of ['one', 'two', 'late']) {
      const mine = events.filter((e) => e.fields.user_id === user);
      assert.deepEqual(encoded(tile(user)), plainFold(tile(user), mine), `the tile of ${user} holds all its events`);
      // The slices a commit writes, made from the tile where the fold made none: each the plain fold of its fed events.
      const slices = lazySlicesOf(tile(user), 0);
      assert.ok(slices.length > 0, user);
      for (const slice of slices) {
        const fed = mine.filter((e) => e.eventTs >= slice.start && e.eventTs < slice.end && feedsSlices(slice.group, e, now));
        assert.deepEqual(encoded(slice), plainFold(slice, fed), `${user}: slice at ${new Date(slice.start).toISOString()}`);
      }
      assert.deepEqual(slices.map((s) => s.start).sort(), [...new Set(mine.filter((e) => feedsSlices(slices[0]!.group, e, now)).map((e) => e.eventTs - (e.eventTs % (5 * M))))].sort());
    }
  });

  it('folds alike when it pauses for the event loop as it goes, and pauses every few thousand events', async () => {
    const registry = await registryFromSdl(SDL);
    const now = Date.UTC(2026, 10, 22, 10, 47, 31, 250);
    const events = [5, 6, 7, 8, 9, 10, 11, 12].flatMap((seed, i) => randomEvents(seed, now).map((e) => ({ ...e, offset: e.offset + 600 * i })));
    const batch = new Map([['Txn', events]]);
    let pauses = 0;
    const yielded = await foldTilesYielding(registry, batch, now, eventKeys(registry, batch), async () => void pauses++);
    const plain = foldTiles(registry, batch, now);
    const described = (deltas: readonly TileDelta[]) => deltas.map((d) => `${d.group.kind} ${d.group.widthMs} ${d.entityKey} ${d.start} ${encoded(d).join(' ')}`).sort();
    assert.deepEqual(described(yielded), described(plain));
    assert.equal(pauses, Math.floor(events.length / 2048), `${events.length} events`);
  });

  it('gives tiles and slices states of their own: merging into one later never changes the other', async () => {
    const registry = await registryFromSdl(SDL);
    const now = Date.UTC(2026, 10, 22, 10, 47, 31, 250);
    const deltas = foldTiles(registry, new Map([['Txn', randomEvents(4, now)]]), now);
    const states = deltas.flatMap((d) => d.partials.filter((p) => typeof p === 'object' && p !== null));
    assert.equal(new Set(states).size, states.length);
  });
});
