/** The in-process event source: Kafka's place taken by an in-memory log, committed by the materializer's own commit. */
import assert from 'node:assert/strict';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { SkewlessError } from '../../../src/errors.ts';
import { committedOffsets, consumeMessages, openInProcessSource } from '../../../src/materializer/in-process.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../../src/stores/memory/online.ts';
import type { Stores } from '../../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const T = Date.parse('2026-11-21T12:00:00.000Z');
const GROUP = 'test-in-process';

let registry: Registry;
let stores: Stores;

before(async () => {
  registry = await registryFromSdl(`
    type User @entity(key: ["user_id"]) { user_id: ID! }
    type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
    type Windows @featureView(entity: "User", source: "Txn") { n_1h: Int! @aggregate(fn: COUNT, window: "1h") }
    type Stats @featureView(entity: "User", topic: "stats") { score: Float }
  `);
});

beforeEach(async () => {
  stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
  await stores.offline.ensureSchema(registry);
});

afterEach(async () => {
  await stores.offline.close();
});

const txn = (user: string, minutesAgo: number, amount = 1) => ({ topic: 'txns', key: user, value: { user_id: user, amount, at: T - minutesAgo * 60_000 }, timestampMs: T - minutesAgo * 60_000 + 500 });
const archived = async () => (await stores.offline.query<{ n: number }>('select count(*)::int as n from skewless."events_Txn"'))[0]!.n;
// One line per (entity, feature, tile), out of the rows that hold a tile's features together.
const tiles = () => stores.offline.query('select entity_key, f.key as feature, tile_start, f.value::text as partial from skewless."tiles_windows", jsonb_each(partial::jsonb) f order by 1, 2, 3');

describe('in-process event source', () => {
  it('gives each partition increasing offsets and keeps one key on one partition', async () => {
    const source = await openInProcessSource(registry, stores, { group: GROUP, partitions: 3 });
    const produced = [txn('u1', 5), txn('u2', 4), txn('u1', 3), txn('u3', 2), txn('u1', 1)].map((m) => source.produce(m));
    const u1 = produced.filter((_, i) => [0, 2, 4].includes(i));
    assert.equal(new Set(u1.map((m) => m.partition)).size, 1, 'u1 stays on one partition');
    for (const partition of new Set(produced.map((m) => m.partition))) {
      const offsets = produced.filter((m) => m.partition === partition).map((m) => m.offset);
      assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${partition} counts from 0 without gaps`);
    }
    assert.equal(source.pending, 5);
  });

  it('commits what was produced through the materializer: archive, tiles, offsets and online rows', async () => {
    const source = await openInProcessSource(registry, stores, { group: GROUP, partitions: 2, batchSize: 2 });
    for (const m of [txn('u1', 50), txn('u1', 20), txn('u2', 10), txn('u3', 70)]) source.produce(m);
    source.produce({ topic: 'stats', key: 'u1', value: { user_id: 'u1', event_timestamp: T - 60_000, score: 0.5 }, timestampMs: T });
    const summary = await source.drain();
    assert.equal(source.pending, 0);
    const { batches, onlineWrites, ...counts } = summary;
    assert.ok(batches >= 3, 'one partition per batch, at most two messages each');
    assert.ok(onlineWrites >= 1, 'the row went online');
    assert.deepEqual(counts, { messages: 5, events: 4, rows: 1, deadLetters: 0, skipped: 0, onlineBehind: false });
    assert.equal(await archived(), 4);
    assert.ok((await tiles()).length > 0, 'events were folded into tiles');
    const offsets = await committedOffsets(stores, GROUP);
    assert.equal([...offsets.entries()].filter(([id]) => id.startsWith('txns/')).reduce((n, [, next]) => n + next, 0), 4, 'offsets moved past every event');
    assert.equal(offsets.get([...offsets.keys()].find((id) => id.startsWith('stats/'))!), 1);
    const [online] = await stores.online.read([{ view: 'stats', entity: 'User', entityKey: 'u1' }]);
    assert.deepEqual(online && !(online instanceof SkewlessError) && 'values' in online ? online.values : online, { score: 0.5 });
  });

  it('counts a second replay of the same messages once: every message is skipped, nothing changes', async () => {
    const source = await openInProcessSource(registry, stores, { group: GROUP, partitions: 2 });
    const messages = [txn('u1', 50), txn('u1', 20, 2), txn('u2', 10, 3), txn('u3', 5, 4)].map((m) => source.produce(m));
    const first = await source.drain();
    assert.equal(first.events, 4);
    const before = { archive: await archived(), tiles: await tiles(), offsets: await committedOffsets(stores, GROUP) };

    const again = await consumeMessages(registry, stores, messages, { group: GROUP, batchSize: 3 });
    assert.equal(again.skipped, 4);
    assert.equal(again.events, 0);
    assert.deepEqual({ archive: await archived(), tiles: await tiles(), offsets: await committedOffsets(stores, GROUP) }, before);
  });

  it('commits only the part of a replay that was not committed yet', async () => {
    const source = await openInProcessSource(registry, stores, { group: GROUP, partitions: 1 });
    const messages = [txn('u1', 40), txn('u1', 30), txn('u1', 20), txn('u1', 10)].map((m) => source.produce(m));
    await consumeMessages(registry, stores, messages.slice(0, 2), { group: GROUP });
    const rest = await consumeMessages(registry, stores, messages, { group: GROUP });
    assert.deepEqual([rest.skipped, rest.events], [2, 2]);
    assert.equal(await archived(), 4);
  });

  it('continues offsets after what the group committed when opened again on the same store', async () => {
    const first = await openInProcessSource(registry, stores, { group: GROUP, partitions: 1 });
    first.produce(txn('u1', 30));
    first.produce(txn('u1', 20));
    await first.drain();
    const second = await openInProcessSource(registry, stores, { group: GROUP, partitions: 1 });
    assert.equal(second.produce(txn('u1', 10)).offset, 2);
    const summary = await second.drain();
    assert.deepEqual([summary.events, summary.skipped], [1, 0]);
    assert.equal(await archived(), 3);
  });

  it('keeps offsets per group: another group replaying the same positions is not skipped', async () => {
    const a = await openInProcessSource(registry, stores, { group: 'a', partitions: 1 });
    const messages = [txn('u1', 30)].map((m) => a.produce(m));
    await a.drain();
    const other = await consumeMessages(registry, stores, messages, { group: 'b' });
    assert.equal(other.skipped, 0);
  });

  it('dead-letters a bad message with its reason and commits the rest of the batch', async () => {
    const source = await openInProcessSource(registry, stores, { group: GROUP, partitions: 1 });
    source.produce(txn('u1', 30));
    source.produce({ topic: 'txns', key: 'u1', value: '{"user_id":', timestampMs: T });
    source.produce({ topic: 'txns', key: 'u1', value: { user_id: 'u1', amount: 1, at: T - 3 * 86_400_000 }, timestampMs: T });
    source.produce(txn('u1', 10));
    const summary = await source.drain();
    assert.deepEqual([summary.events, summary.deadLetters], [2, 2]);
    const dead = await stores.offline.query<{ offset: string | number; reason: string }>('select "offset", reason from skewless.dead_letters order by "offset"');
    assert.deepEqual(dead.map((d) => [Number(d.offset), d.reason]), [[1, 'MALFORMED'], [2, 'LATE']]);
  });

  it('refuses a topic nothing reads, naming the topics that are read', async () => {
    const source = await openInProcessSource(registry, stores, { group: GROUP });
    assert.throws(() => source.produce({ topic: 'txn', value: {}, timestampMs: T }), (error: unknown) => {
      assert.ok(error instanceof SkewlessError);
      assert.equal(error.code, 'UNKNOWN_TOPIC');
      assert.match(error.message, /topic "txn".*txns, stats/);
      return true;
    });
  });
});
