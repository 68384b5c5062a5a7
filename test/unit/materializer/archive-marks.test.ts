/**
 * Archive marks: a commit whose events are all past their partitions' marks copies them in (COPY, no
 * conflict check); one that
 * reaches below (a second consumer group archiving the same topic, an archive older than the marks) takes
 * the guarded insert, so each message is archived once whichever group gets there first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { partitionSpans, pastMarks } from '../../../src/materializer/archive.ts';
import { DEFAULT_TIME_BOUNDS } from '../../../src/materializer/batch.ts';
import { commitBatch } from '../../../src/materializer/commit.ts';
import { decodeMessage, topicRoutes } from '../../../src/materializer/decode.ts';
import { newestByView, newestEventTimesSql } from '../../../src/ops/freshness.ts';
import type { RawMessage, SourceEvent } from '../../../src/materializer/decode.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../../src/stores/memory/online.ts';
import type { Stores } from '../../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import type { SqlClient } from '../../../src/stores/sql/client.ts';
import { registryFromSdl } from '../../helpers/repos.ts';
import { recordingTransactions } from '../../helpers/sql-proxy.ts';

const T0 = Date.parse('2026-11-21T12:00:00.000Z');

const event = (partition: number, offset: number, topic = 't'): SourceEvent => ({ topic, partition, offset, source: 'S', eventTs: T0, messageTs: T0, fields: {} });

describe('partitionSpans and pastMarks', () => {
  it('spans each partition from its first offset to past its last, whatever the order', () => {
    const spans = partitionSpans([event(0, 5), event(0, 6), event(1, 9), event(0, 3), event(1, 7), event(0, 4, 'u')]);
    assert.deepEqual(
      spans.map((s) => [s.topic, s.partition, s.first, s.offset]),
      [
        ['t', 0, 3, 7],
        ['t', 1, 7, 10],
        ['u', 0, 4, 5],
      ],
    );
  });

  it('is past the marks only when every partition starts at or after its mark', () => {
    const spans = partitionSpans([event(0, 5), event(1, 9)]);
    assert.equal(pastMarks(spans, new Map([['t/0', 5], ['t/1', 2]])), true);
    assert.equal(pastMarks(spans, new Map([['t/0', 6], ['t/1', 2]])), false, 'offset 5 may be archived');
    assert.equal(pastMarks(spans, new Map([['t/0', 0]])), false, 'a partition with no mark is not known to be new');
  });
});

describe('archiving with marks (embedded PostgreSQL)', () => {
  let registry: Registry;
  const opened: SqlClient[] = [];

  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type Windows @featureView(entity: "User", source: "Txn") {
        n_1h: Int! @aggregate(fn: COUNT, window: "1h")
        sum_1h: Float! @aggregate(fn: SUM, of: "amount", window: "1h")
      }
    `);
  });

  after(async () => {
    for (const client of opened) await client.close();
  });

  /** A fresh store whose transactions record the archive inserts they run. */
  const openStores = async (archiveInserts: string[]): Promise<Stores> => {
    const offline = await pgliteOfflineStore();
    opened.push(offline);
    await offline.ensureSchema(registry);
    return { online: new MemoryOnlineStore(), offline: recordingTransactions(offline, (sql) => /(insert into|copy) skewless\."events_Txn"/.test(sql) && archiveInserts.push(sql)) };
  };

  const batch = (partition: number, from: number, count: number): RawMessage[] =>
    Array.from({ length: count }, (_, i) => {
      const offset = from + i;
      const at = T0 - 30 * 60_000 + offset * 1_000;
      return { topic: 'txns', partition, offset, value: JSON.stringify({ user_id: `u${offset % 3}`, amount: offset + 0.5, at: new Date(at).toISOString() }), timestampMs: at };
    });

  const commit = (stores: Stores, group: string, messages: readonly RawMessage[]) =>
    commitBatch(registry, stores, group, messages, messages.map((m) => decodeMessage(registry, topicRoutes(registry).get('txns')!, m)), DEFAULT_TIME_BOUNDS, T0);

  const archived = async (stores: Stores) => (await stores.offline.query<{ n: number }>(`select count(*)::int as n from skewless."events_Txn"`))[0]!.n;
  const marks = async (stores: Stores) =>
    (await stores.offline.query<{ partition: number; next_offset: number }>(`select partition, next_offset::int as next_offset from skewless.archive_marks where source = 'Txn' order by partition`)).map((r) => [r.partition, r.next_offset]);
  /** How a statement archives: by COPY, by the guarded insert, or by a plain insert (which nothing should run). */
  const how = (sql: string) => (/^copy /.test(sql) ? 'copy' : /on conflict do nothing/.test(sql) ? 'guarded' : 'plain');
  const tiles = async (stores: Stores) => {
    const out: unknown[] = [];
    for (const kind of ['tiles', 'slices']) out.push(...(await stores.offline.query(`select '${kind}' as kind, entity_key, width::float8 as width, tile_start::float8 as tile_start, partial from skewless."${kind}_windows" order by 2, 3, 4`)));
    assert.ok(out.length > 0);
    return out;
  };
  /** Per user, the pieces and raw events online, without their versions (merges count up differently). */
  const online = async (stores: Stores) => {
    const entries = await stores.online.read(['u0', 'u1', 'u2'].map((u) => ({ entity: 'User', entityKey: u, view: 'windows', pieces: true })));
    return entries.map((entry) => {
      const pieces = (entry as { pieces: Record<string, string> }).pieces;
      assert.ok(Object.keys(pieces).length > 1);
      return Object.fromEntries(Object.entries(pieces).flatMap(([name, value]) => (name === 'P' ? [] : [[name, value.slice(value.indexOf('|') + 1)]])));
    });
  };

  it('copies new events in and inserts a second group’s copies through the guard, archiving each message once', async () => {
    const inserts: string[] = [];
    const stores = await openStores(inserts);
    await commit(stores, 'a', [...batch(0, 0, 10), ...batch(1, 0, 4)]);
    await commit(stores, 'a', batch(0, 10, 5));
    assert.deepEqual(inserts.map(how), ['copy', 'copy'], 'group a only ever archives past the marks');
    assert.deepEqual(await marks(stores), [[0, 15], [1, 4]]);

    inserts.length = 0;
    await commit(stores, 'b', batch(0, 0, 12));
    await commit(stores, 'b', [...batch(0, 12, 6), ...batch(1, 0, 4)]);
    assert.deepEqual(inserts.map(how), ['guarded', 'guarded'], 'group b starts below the marks group a moved');
    assert.equal(await archived(stores), 18 + 4, 'messages both groups read are archived once');
    assert.deepEqual(await marks(stores), [[0, 18], [1, 4]]);

    inserts.length = 0;
    await commit(stores, 'b', batch(0, 18, 3));
    assert.deepEqual(inserts.map(how), ['copy'], 'past every mark again');
    assert.equal(await archived(stores), 25);

    // Each message is folded once between the groups: the tiles are those of one group reading them all.
    const reference = await openStores([]);
    await commit(reference, 'a', [...batch(0, 0, 21), ...batch(1, 0, 4)]);
    assert.deepEqual(await tiles(stores), await tiles(reference));
    assert.deepEqual(await online(stores), await online(reference), 'and written online once');
  });

  it('starts a missing mark at the archive’s own highest offset', async () => {
    const inserts: string[] = [];
    const stores = await openStores(inserts);
    await commit(stores, 'a', batch(0, 0, 8));
    // As an archive written before marks existed.
    await stores.offline.query('delete from skewless.archive_marks');
    inserts.length = 0;
    await commit(stores, 'b', batch(0, 0, 10));
    assert.deepEqual(inserts.map(how), ['guarded']);
    assert.equal(await archived(stores), 10);
    assert.deepEqual(await marks(stores), [[0, 10]]);
    const reference = await openStores([]);
    await commit(reference, 'a', batch(0, 0, 10));
    assert.deepEqual(await tiles(stores), await tiles(reference), 'the 8 events group a archived are folded once');
  });

  const at = (offset: number) => T0 - 30 * 60_000 + offset * 1_000;
  const newest = async (stores: Stores) =>
    (await stores.offline.query<{ partition: number; newest: Date | null }>(`select partition, newest_event_time as newest from skewless.archive_marks where source = 'Txn' order by partition`)).map((r) => [
      r.partition,
      r.newest === null ? null : new Date(r.newest).getTime(),
    ]);
  const sourceFreshness = async (stores: Stores) => {
    const { sql, params } = newestEventTimesSql(registry);
    return newestByView(registry, await stores.offline.query<{ key: string; newest: unknown }>(sql, params)).get('windows');
  };

  it('keeps each partition’s newest archived event time with its mark, never moving it back', async () => {
    const stores = await openStores([]);
    await commit(stores, 'a', [...batch(0, 0, 10), ...batch(1, 0, 3)]);
    assert.deepEqual(await newest(stores), [[0, at(9)], [1, at(2)]]);
    // Later offsets, earlier event times (late events): the newest stays.
    const late = batch(0, 10, 2).map((m) => ({ ...m, value: m.value!.replace(new Date(at(m.offset)).toISOString(), new Date(at(4)).toISOString()) }));
    await commit(stores, 'a', late);
    assert.deepEqual(await marks(stores), [[0, 12], [1, 3]]);
    assert.deepEqual(await newest(stores), [[0, at(9)], [1, at(2)]]);
    // The guarded path moves it too.
    await commit(stores, 'b', batch(1, 0, 6));
    assert.deepEqual(await newest(stores), [[0, at(9)], [1, at(5)]]);
    assert.equal(await sourceFreshness(stores), at(9), 'a source’s freshness is its newest mark');
  });

  it('reads the newest event time of marks an earlier version wrote, or of a missing mark, from the archive', async () => {
    const stores = await openStores([]);
    await commit(stores, 'a', batch(0, 0, 8));
    // As an earlier version left it: no newest event time, and a btree time index.
    await stores.offline.query('update skewless.archive_marks set newest_event_time = null');
    await stores.offline.query('drop index skewless."events_Txn_time_brin"');
    await stores.offline.query('create index "events_Txn_time" on skewless."events_Txn" (at)');
    await stores.offline.query('delete from skewless.schema_applied');
    await stores.offline.ensureSchema(registry);
    assert.deepEqual(await newest(stores), [[0, at(7)]]);
    const indexes = await stores.offline.query<{ name: string; method: string }>(
      `select c.relname as name, am.amname as method from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam where i.indrelid = 'skewless."events_Txn"'::regclass and c.relname like '%time%'`,
    );
    assert.deepEqual(indexes, [{ name: 'events_Txn_time_brin', method: 'brin' }], 'the btree time index is replaced by a BRIN index');

    // A mark that is missing starts at the archive's newest event time, not at the batch's.
    await stores.offline.query('delete from skewless.archive_marks');
    await commit(stores, 'b', batch(0, 0, 5));
    assert.deepEqual(await newest(stores), [[0, at(7)]]);
  });

  it('refuses, loudly and whole, a copy its marks did not foresee', async () => {
    const stores = await openStores([]);
    await commit(stores, 'a', batch(0, 0, 6));
    await stores.offline.query('update skewless.archive_marks set next_offset = 0');
    await assert.rejects(commit(stores, 'b', batch(0, 0, 6)), /duplicate key|unique/i);
    assert.equal(await archived(stores), 6);
    const offsets = await stores.offline.query(`select * from skewless.consumer_offsets where group_id = 'b' and next_offset > 0`);
    assert.equal(offsets.length, 0, 'the failed commit moved no offset');
  });
});
