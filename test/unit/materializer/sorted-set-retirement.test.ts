import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventFrom } from '../../../src/materializer/online-retention.ts';
import { retireSortedSetsInBackground } from '../../../src/materializer/sorted-set-retirement.ts';
import { createLogger } from '../../../src/ops/log.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { MemoryOnlineStore } from '../../../src/stores/memory/online.ts';
import type { OnlineStore } from '../../../src/stores/types.ts';
import { sortedSetView } from '../../../src/stores/redis/sorted-sets.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const registry = await registryFromSdl(`type User @entity(key: ["user_id"]) { user_id: ID! }
  type Tx @source(topic: "tx", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
  type W @featureView(entity: "User", source: "Tx", name: "w") { n: Int! @aggregate(fn: COUNT, window: "1d", hop: "1h", slice: "5m") }
  type V @featureView(entity: "User", source: "Tx", name: "v") { s: Float! @aggregate(fn: SUM, of: "amount", window: "7d", hop: "1d") }
  type Stats @featureView(entity: "User") { score: Float }`);

/** An online store whose retireSortedSets answers `left` and records what it was asked, resolving `asked`. */
function retiringStore(left: (views: ReadonlyMap<string, number>) => Map<string, number>) {
  const calls: ReadonlyMap<string, number>[] = [];
  let asked!: () => void;
  const once = new Promise<void>((resolve) => (asked = resolve));
  const store: OnlineStore = Object.assign(new MemoryOnlineStore(), {
    retireSortedSets: async (views: ReadonlyMap<string, number>) => {
      calls.push(views);
      asked();
      return left(views);
    },
  });
  return { store, calls, once };
}

const lines: string[] = [];
const logger = createLogger('info', (line) => lines.push(line));

describe('retiring the sorted sets of raw events earlier versions left online', () => {
  it("asks the store once at start, with every aggregation view's eventFrom, and logs what is left", async () => {
    const before = Date.now();
    const { store, calls, once } = retiringStore((views) => new Map([...views.keys()].map((v) => [v, v === 'w' ? 3 : 0])));
    const retiring = retireSortedSetsInBackground(registry, store, logger);
    await once;
    await retiring.stop();
    const after = Date.now();
    assert.equal(calls.length, 1);
    assert.deepEqual([...calls[0]!.keys()].sort(), ['v', 'w'], 'the aggregation views, not the row view');
    for (const name of ['v', 'w']) {
      const from = calls[0]!.get(name)!;
      const view = registry.view(name) as AggregationView;
      assert.ok(from >= eventFrom(view, before) && from <= eventFrom(view, after), `${name}: ${from}`);
    }
    assert.ok(lines.some((l) => l.includes('materializer.sorted_sets_left') && l.includes('"w":3') && !l.includes('"v"')), lines.join('\n'));
  });

  it('does nothing for a store that has no sorted sets to retire', async () => {
    const retiring = retireSortedSetsInBackground(registry, new MemoryOnlineStore(), logger);
    await retiring.stop();
  });

  it("names a sorted set's view from its key, whatever the entity key holds", () => {
    assert.equal(sortedSetView('{User:u1}:user_txn_windows:events'), 'user_txn_windows');
    assert.equal(sortedSetView('{User:a}:b}:view:events'), 'view');
    assert.equal(sortedSetView('{User:u1}:view:events:300000:0'), undefined, 'a bucket');
    assert.equal(sortedSetView('plain:events'), undefined);
  });
});
