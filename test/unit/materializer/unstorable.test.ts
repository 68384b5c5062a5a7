/**
 * A message PostgreSQL could not store (U+0000 in text or JSON) is dead-lettered as INVALID, naming the
 * field; the rest of its batch commits. Before, the archive insert failed the whole commit, every retry
 * again: one such message stalled its partition for good.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TIME_BOUNDS } from '../../../src/materializer/batch.ts';
import { commitBatch } from '../../../src/materializer/commit.ts';
import { decodeMessage, topicRoutes } from '../../../src/materializer/decode.ts';
import type { RawMessage } from '../../../src/materializer/decode.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../../src/stores/memory/online.ts';
import type { Stores } from '../../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import { DEAD_LETTERS, eventsTable } from '../../../src/stores/sql/materializer-tables.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const T = Date.parse('2026-11-21T12:00:00.000Z');

describe('messages PostgreSQL cannot store', () => {
  let registry: Registry;
  let stores: Stores;
  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! note: String tags: [String] meta: JSON at: DateTime! }
      type W @featureView(entity: "User", source: "Txn") { n: Int! @aggregate(fn: COUNT, window: "1h") }
    `);
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
  });
  after(async () => {
    await stores.offline.close();
  });

  it('dead-letters each one with the field named, and commits the rest of the batch', async () => {
    const at = new Date(T - 1000).toISOString();
    const bodies: Record<string, unknown>[] = [
      { user_id: 'u1', at },
      { user_id: 'u\u00002', at },
      { user_id: 'u3', note: 'a\u0000b', at },
      { user_id: 'u4', tags: ['ok', 'x\u0000'], at },
      { user_id: 'u5', meta: { deep: ['v\u0000'] }, at },
      { user_id: 'u6', meta: { 'k\u0000': 1 }, at },
      { user_id: 'u7', note: 'fine', meta: { a: 'b' }, at },
    ];
    const route = topicRoutes(registry).get('txns')!;
    const messages: RawMessage[] = bodies.map((body, offset) => ({ topic: 'txns', partition: 0, offset, value: JSON.stringify(body), timestampMs: T }));
    const result = await commitBatch(registry, stores, 'g', messages, messages.map((m) => decodeMessage(registry, route, m)), DEFAULT_TIME_BOUNDS, T);
    assert.deepEqual(
      result.dead.map((d) => [d.offset, d.reason, d.message.split(':')[0]]),
      [[1, 'INVALID', 'user_id'], [2, 'INVALID', 'note'], [3, 'INVALID', 'tags'], [4, 'INVALID', 'meta'], [5, 'INVALID', 'meta']],
    );
    assert.ok(result.dead.every((d) => /U\+0000/.test(d.message)));
    const archived = await stores.offline.query<{ user_id: string }>(`select user_id from ${eventsTable('Txn')} order by _offset`);
    assert.deepEqual(archived.map((r) => r.user_id), ['u1', 'u7']);
    const kept = await stores.offline.query<{ n: number }>(`select count(*)::int as n from ${DEAD_LETTERS}`);
    assert.equal(kept[0]!.n, 5, 'every one is kept in dead_letters');
  });

  it('keeps a payload with a raw NUL byte (not JSON, so MALFORMED) as a dead letter, with the NUL spelled \\u0000', async () => {
    const route = topicRoutes(registry).get('txns')!;
    const raw = '{"user_id":"u8",\u0000"at":1}';
    const messages: RawMessage[] = [
      { topic: 'txns', partition: 1, offset: 0, value: raw, timestampMs: T },
      { topic: 'txns', partition: 1, offset: 1, value: JSON.stringify({ user_id: 'u9', at: new Date(T - 1000).toISOString() }), timestampMs: T },
    ];
    const result = await commitBatch(registry, stores, 'g', messages, messages.map((m) => decodeMessage(registry, route, m)), DEFAULT_TIME_BOUNDS, T);
    assert.deepEqual(result.dead.map((d) => [d.offset, d.reason]), [[0, 'MALFORMED']]);
    const [letter] = await stores.offline.query<{ payload: string }>(`select payload from ${DEAD_LETTERS} where partition = 1`);
    assert.equal(letter!.payload, raw.replace('\u0000', '\\u0000'));
    assert.deepEqual((await stores.offline.query<{ user_id: string }>(`select user_id from ${eventsTable('Txn')} where _partition = 1`)).map((r) => r.user_id), ['u9']);
  });
});
