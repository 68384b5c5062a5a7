/**
 * The piece cache: a commit merges into the rows as this process last committed them, and falls back to
 * reading a row another writer changed since. Two materializers sharing entities (each with its own cache)
 * must store exactly what one writer without a cache stores.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TIME_BOUNDS } from '../../../src/materializer/batch.ts';
import { commitBatch } from '../../../src/materializer/commit.ts';
import { decodeMessage, topicRoutes } from '../../../src/materializer/decode.ts';
import type { RawMessage } from '../../../src/materializer/decode.ts';
import { PieceCache, pieceId } from '../../../src/materializer/piece-cache.ts';
import type { CachedPiece } from '../../../src/materializer/piece-cache.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../../src/stores/memory/online.ts';
import type { Stores } from '../../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import type { SqlClient } from '../../../src/stores/sql/client.ts';
import { registryFromSdl } from '../../helpers/repos.ts';
import { recordingTransactions, withTransaction } from '../../helpers/sql-proxy.ts';

const T0 = Date.parse('2026-11-21T12:00:00.000Z');
const piece = (version: number): CachedPiece => ({ version, states: [version] });
const id = (table: string, entityKey: string) => pieceId(table, entityKey, 60_000, T0);

describe('PieceCache', () => {
  it('keeps the most recently written rows, up to its capacity, dropping the least recent tenth when full', () => {
    const cache = new PieceCache(10);
    const keys = 'abcdefghij'.split('');
    for (const k of keys) cache.remember(id('t', k), piece(1));
    cache.remember(id('t', 'a'), piece(2));
    assert.equal(cache.size, 10);
    cache.remember(id('t', 'k'), piece(1));
    assert.equal(cache.size, 9);
    assert.equal(cache.get(id('t', 'b')), undefined, 'b was written least recently');
    assert.equal(cache.get(id('t', 'c')), undefined, 'then c');
    for (const k of ['d', 'j', 'k']) assert.deepEqual(cache.get(id('t', k)), { version: 1, states: [1] });
    assert.deepEqual(cache.get(id('t', 'a')), { version: 2, states: [2] });
    assert.equal(cache.get(id('other', 'a')), undefined, 'tables are apart');
  });

  it('keeps nothing at capacity 0', () => {
    const cache = new PieceCache(0);
    cache.remember(id('t', 'a'), piece(1));
    assert.equal(cache.size, 0);
  });
});

describe('merging with a piece cache', () => {
  let registry: Registry;
  const opened: SqlClient[] = [];
  const route = () => topicRoutes(registry).get('txns')!;

  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! merchant: String! amount: Float! at: DateTime! }
      type Windows @featureView(entity: "User", source: "Txn") {
        n_1h: Int! @aggregate(fn: COUNT, window: "1h")
        sum_1h: Float! @aggregate(fn: SUM, of: "amount", window: "1h")
        merchants_1d: Int! @aggregate(fn: COUNT_DISTINCT, of: "merchant", window: "1d")
        p90_1d: Float @aggregate(fn: APPROX_PERCENTILE, of: "amount", window: "1d", percentile: 0.9)
      }
    `);
  });

  after(async () => {
    for (const client of opened) await client.close();
  });

  /** A fresh store whose transactions record every statement they run. */
  const openStores = async (statements: string[]): Promise<Stores> => {
    const offline = await pgliteOfflineStore();
    opened.push(offline);
    await offline.ensureSchema(registry);
    return { online: new MemoryOnlineStore(), offline: recordingTransactions(offline, (sql) => statements.push(sql)) };
  };

  /** Batches of one partition: the same users every batch, so every batch merges into rows written before. */
  const batches = (partition: number, count: number): RawMessage[][] =>
    Array.from({ length: count }, (_, b) =>
      Array.from({ length: 12 }, (_, i) => {
        const offset = b * 12 + i;
        const at = T0 - 50 * 60_000 + offset * 37_000 + partition * 1_000;
        return { topic: 'txns', partition, offset, value: JSON.stringify({ user_id: `u${i % 3}`, merchant: `m${(offset * 7 + partition) % 5}`, amount: 1.25 * ((offset * 13 + partition * 5) % 11) + 0.1, at: new Date(at).toISOString() }), timestampMs: at };
      }),
    );

  const commit = (stores: Stores, messages: readonly RawMessage[], cache?: PieceCache) =>
    commitBatch(registry, stores, 'g', messages, messages.map((m) => decodeMessage(registry, route(), m)), DEFAULT_TIME_BOUNDS, T0 + 5 * 60_000, cache);

  const pieces = async (stores: Stores) => {
    const out: unknown[] = [];
    for (const table of ['tiles_windows', 'slices_windows']) out.push(...(await stores.offline.query(`select '${table}' as t, entity_key, width::float8 as width, tile_start::float8 as tile_start, partial from skewless."${table}" order by entity_key, width, tile_start`)));
    return out;
  };

  const readsPartials = (sql: string) => /select entity_key, width::float8 as width, tile_start::float8 as tile_start, partial, version/.test(sql) && /for update/.test(sql);

  it('stores what one writer without a cache stores, with two writers interleaving on the same rows', async () => {
    const [p0, p1] = [batches(0, 4), batches(1, 4)];

    const reference = await openStores([]);
    for (const batch of [...p0, ...p1]) await commit(reference, batch);

    const statements: string[] = [];
    const shared = await openStores(statements);
    const [a, b] = [new PieceCache(), new PieceCache()];
    const reads: number[] = [];
    for (let i = 0; i < 4; i++) {
      for (const [batch, cache] of [[p0[i]!, a], [p1[i]!, b]] as const) {
        statements.length = 0;
        await commit(shared, batch, cache);
        reads.push(statements.filter(readsPartials).length);
      }
    }
    assert.deepEqual(await pieces(shared), await pieces(reference));
    // After the first round every row is cached by both writers, and each found it changed by the other.
    assert.ok(reads.slice(2).every((n) => n > 0), `every later commit read the rows the other writer changed: ${reads.join(', ')}`);
    assert.ok(a.size > 0 && b.size > 0);
  });

  it('reads no partial when nothing else wrote the rows since its last commit', async () => {
    const statements: string[] = [];
    const stores = await openStores(statements);
    const cache = new PieceCache();
    const reads: number[] = [];
    for (const batch of batches(0, 4)) {
      statements.length = 0;
      await commit(stores, batch, cache);
      reads.push(statements.filter(readsPartials).length);
    }
    assert.deepEqual(reads, [0, 0, 0, 0], 'new rows are inserted, cached rows only locked and version-checked');

    // The same batches with no cache merge the same values, reading every stored row.
    const uncachedStatements: string[] = [];
    const uncached = await openStores(uncachedStatements);
    const uncachedReads: number[] = [];
    for (const batch of batches(0, 4)) {
      uncachedStatements.length = 0;
      await commit(uncached, batch, new PieceCache(0));
      uncachedReads.push(uncachedStatements.filter(readsPartials).length);
    }
    assert.ok(uncachedReads.slice(1).every((n) => n > 0), `without a cache, rows are read: ${uncachedReads.join(', ')}`);
    assert.deepEqual(await pieces(stores), await pieces(uncached));
  });

  it('keeps a row it created only if the batch brought it events at two times; one event\'s row is read once when its entity comes back, then kept', async () => {
    const message = (offset: number, user: string, at: number): RawMessage => ({ topic: 'txns', partition: 0, offset, value: JSON.stringify({ user_id: user, merchant: `m${offset}`, amount: offset + 0.5, at: new Date(at).toISOString() }), timestampMs: at });
    const at = T0 - 30 * 60_000;
    const tile = (user: string) => pieceId('skewless."tiles_windows"', user, 3_600_000, Math.floor(at / 3_600_000) * 3_600_000);
    const rounds = [
      [message(0, 'solo', at), message(1, 'busy', at), message(2, 'busy', at + 1_000)],
      [message(3, 'solo', at + 2_000)],
      [message(4, 'solo', at + 3_000)],
    ];
    const statements: string[] = [];
    const stores = await openStores(statements);
    const cache = new PieceCache();
    const reads: number[] = [];
    const kept: boolean[] = [];
    for (const batch of rounds) {
      statements.length = 0;
      await commit(stores, batch, cache);
      reads.push(statements.filter(readsPartials).length);
      kept.push(cache.get(tile('solo')) !== undefined);
      if (kept.length === 1) assert.ok(cache.get(tile('busy')) !== undefined, 'a row created by two events is kept');
    }
    assert.deepEqual(kept, [false, true, true], 'the one-event row is kept once it is written again');
    assert.equal(reads[0], 0);
    assert.ok(reads[1]! > 0, 'its entity came back: its rows are read under the lock');
    assert.equal(reads[2], 0, 'then merged from the cache');
    const reference = await openStores([]);
    for (const batch of rounds) await commit(reference, batch, new PieceCache(0));
    assert.deepEqual(await pieces(stores), await pieces(reference));
  });

  it('a commit that fails clears the cache, and the next one reads its rows', async () => {
    const stores = await openStores([]);
    const cache = new PieceCache();
    const [first, second] = batches(0, 2);
    await commit(stores, first!, cache);
    const tile = pieceId('skewless."tiles_windows"', 'u0', 3_600_000, Math.floor((T0 - 50 * 60_000) / 3_600_000) * 3_600_000);
    assert.ok(cache.get(tile) !== undefined, 'the first commit cached its tile');
    const failing: Stores = {
      ...stores,
      offline: withTransaction(stores.offline, (fn) =>
        stores.offline.transaction(async (tx) => {
          await fn(tx);
          throw new Error('commit refused');
        }),
      ),
    };
    await assert.rejects(commit(failing, second!, cache), /commit refused/);
    // The failed merge changed the cached states in place: none may be used again.
    assert.equal(cache.size, 0);
    // And the next commit of the same batch, with that cache, stores the right values.
    const statements: string[] = [];
    await commit({ ...stores, offline: recordingTransactions(stores.offline, (sql) => statements.push(sql)) }, second!, cache);
    assert.ok(statements.some(readsPartials), 'it read the rows it merges into');
    const reference = await openStores([]);
    for (const batch of [first!, second!]) await commit(reference, batch);
    assert.deepEqual(await pieces(stores), await pieces(reference));
  });
});
