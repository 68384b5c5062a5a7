import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventFrom } from '../../../src/materializer/online-retention.ts';
import { RETIRE_EVERY_MS, retireSortedSetsInBackground } from '../../../src/materializer/sorted-set-retirement.ts';
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

/**
 * An online store whose retireSortedSets answers `left` (per call, from the views asked about and the
 * call's signal) and records what it was asked; `called(n)` resolves once it has been called n times.
 */
function retiringStore(left: (views: ReadonlyMap<string, number>, call: number, signal?: AbortSignal) => Promise<Map<string, number>> | Map<string, number>) {
  const calls: ReadonlyMap<string, number>[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  const store: OnlineStore = Object.assign(new MemoryOnlineStore(), {
    retireSortedSets: async (views: ReadonlyMap<string, number>, signal?: AbortSignal) => {
      calls.push(views);
      for (const w of waiting.filter((w) => w.n <= calls.length)) w.resolve();
      return left(views, calls.length, signal);
    },
  });
  const called = (n: number) => (calls.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve })));
  return { store, calls, called };
}

const leftFor = (views: ReadonlyMap<string, number>, w: number) => new Map([...views.keys()].map((v) => [v, v === 'w' ? w : 0]));

const lines: string[] = [];
const logger = createLogger('info', (line) => lines.push(line));

describe('retiring the sorted sets of raw events earlier versions left online', () => {
  it("asks the store once at start, with every aggregation view's eventFrom, and logs what is left", async () => {
    const before = Date.now();
    const { store, calls, called } = retiringStore((views) => leftFor(views, 3));
    const retiring = retireSortedSetsInBackground(registry, store, logger);
    await called(1);
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

  it('tries again every RETIRE_EVERY_MS while a view has sets left, and no more once none has', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { store, calls } = retiringStore((views, call) => leftFor(views, call < 3 ? 1 : 0));
    // The store is asked as each attempt starts; an attempt sets its timer once the store has answered,
    // a few turns of the event loop later (setImmediate is not mocked).
    const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
    const retiring = retireSortedSetsInBackground(registry, store, logger);
    try {
      assert.equal(calls.length, 1, 'asked at once');
      await settle();
      t.mock.timers.tick(RETIRE_EVERY_MS - 1);
      assert.equal(calls.length, 1, 'not before RETIRE_EVERY_MS');
      t.mock.timers.tick(1);
      assert.equal(calls.length, 2, 'again after RETIRE_EVERY_MS: a set was left');
      await settle();
      t.mock.timers.tick(RETIRE_EVERY_MS);
      assert.equal(calls.length, 3, 'and again: a set was left');
      await settle();
      t.mock.timers.tick(10 * RETIRE_EVERY_MS);
      assert.equal(calls.length, 3, 'none left after the third: no fourth');
    } finally {
      await retiring.stop();
    }
  });

  it('stops a pass under way through its signal, logs nothing for it and tries no more', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const warned: string[] = [];
    const quiet = createLogger('info', (line) => warned.push(line));
    // The pass runs until it is told to stop, and then fails as a stopped SCAN does.
    const { store, calls, called } = retiringStore(
      (_views, _call, signal) => new Promise((_resolve, reject) => signal!.addEventListener('abort', () => reject(signal!.reason), { once: true })),
    );
    const retiring = retireSortedSetsInBackground(registry, store, quiet);
    await called(1);
    await retiring.stop();
    t.mock.timers.tick(10 * RETIRE_EVERY_MS);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(calls.length, 1);
    assert.deepEqual(warned, []);
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
