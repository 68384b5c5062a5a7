/**
 * `@aggregate(slice:)` decides how the head tile is kept online: features whose slices have one width
 * share their slice rows whatever their hops, a feature whose slice is its hop has none (its head is read
 * as raw events), and the raw events a read folds start at the earliest of the view's finest slices.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rawEventsFrom } from '../../../src/features/aggregate/tiles.ts';
import { sliceGroups, tileGroups } from '../../../src/materializer/tiles.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

const view = async () => {
  const registry = await registryFromSdl(`
    type User @entity(key: ["user_id"]) { user_id: ID! }
    type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
    type Windows @featureView(entity: "User", source: "Txn") {
      a: Int! @aggregate(fn: COUNT, window: "1h")
      b: Int! @aggregate(fn: COUNT, window: "24h")
      c: Float! @aggregate(fn: SUM, of: "amount", window: "24h", slice: "5m")
      d: Float! @aggregate(fn: SUM, of: "amount", window: "24h", slice: "1h")
      e: Int! @aggregate(fn: COUNT, window: "2m", hop: "30s")
    }
  `);
  return registry.views.find((v) => v.name === 'windows') as AggregationView;
};

const names = (groups: readonly { widthMs: number; features: readonly { name: string }[] }[]) => groups.map((g) => [g.widthMs, g.features.map((f) => f.name)]);

describe('slice widths', () => {
  it('registers each feature with its slice: the default about a sixtieth of the hop, or the one given', async () => {
    const v = await view();
    const slice = (name: string) => v.features.find((f) => f.name === name)!.aggregation!;
    assert.deepEqual(['a', 'b', 'c', 'd', 'e'].map((n) => [slice(n).slice, slice(n).sliceMs]), [['1s', S], ['1m', M], ['5m', 5 * M], ['1h', H], ['1s', S]]);
  });

  it('groups slices by width whatever the hop, and gives a feature sliced by its hop no slices', async () => {
    const v = await view();
    assert.deepEqual(names(tileGroups(v)), [[30 * S, ['e']], [M, ['a']], [H, ['b', 'c', 'd']]]);
    assert.deepEqual(names(sliceGroups(v)), [[S, ['a', 'e']], [M, ['b']], [5 * M, ['c']]]);
  });

  it("starts a read's raw events at the earliest finest slice: the whole head tile for a feature sliced by its hop", async () => {
    const v = await view();
    const at = Date.UTC(2026, 10, 22, 10, 47, 31, 250);
    assert.equal(rawEventsFrom(v, at), Date.UTC(2026, 10, 22, 10, 0, 0));
    const withoutD = { ...v, features: v.features.filter((f) => f.name !== 'd') };
    assert.equal(rawEventsFrom(withoutD, at), Date.UTC(2026, 10, 22, 10, 45, 0), 'c: the 5m slice holding T');
  });

  it('starts before the head tile of the widest width when another width does not nest in it', async () => {
    const registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type Mixed @featureView(entity: "User", source: "Txn") {
        whole: Float! @aggregate(fn: SUM, of: "amount", window: "3d", slice: "1h")
        month: Int! @aggregate(fn: COUNT, window: "30d")
      }
    `);
    const v = registry.views.find((x) => x.name === 'mixed') as AggregationView;
    // At 03:10 the 1h head began at 03:00, but the 24m slice of the 1d hop at 02:48.
    assert.equal(rawEventsFrom(v, Date.UTC(2026, 10, 22, 3, 10)), Date.UTC(2026, 10, 22, 2, 48));
    assert.equal(rawEventsFrom(v, Date.UTC(2026, 10, 22, 3, 40)), Date.UTC(2026, 10, 22, 3, 0));
  });
});
