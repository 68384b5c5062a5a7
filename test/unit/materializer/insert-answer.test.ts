/**
 * The new-pieces insert answers a count and the keys it refused; an answer that does not add up fails the
 * merge with a code (the commit's transaction then keeps nothing, and the commit is retried).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergePieces } from '../../../src/materializer/merge-pieces.ts';
import { foldTiles } from '../../../src/materializer/tiles.ts';
import type { SqlQueryable } from '../../../src/stores/sql/client.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

describe('the new-pieces insert answer', () => {
  it('refuses an answer whose counts do not add up, with PIECES_INSERT_MISMATCH', async () => {
    const registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! at: DateTime! }
      type W @featureView(entity: "User", source: "Txn") { n: Int! @aggregate(fn: COUNT, window: "24h", slice: "1h") }
    `);
    const at = Date.UTC(2026, 10, 23, 1);
    const events = ['u1', 'u2'].map((user, offset) => ({ topic: 'txns', partition: 0, offset, source: 'Txn', eventTs: at, messageTs: at, fields: { user_id: user, at } }));
    const deltas = foldTiles(registry, new Map([['Txn', events]]), at);
    assert.equal(deltas.length, 2);
    const statements: string[] = [];
    // One row inserted and none refused, of two sent.
    const tx = { query: async (sql: string) => (statements.push(sql), [{ inserted: 1, keys: null, widths: null, starts: null }]) } as unknown as SqlQueryable;
    await assert.rejects(mergePieces(tx, deltas), (error: { code?: string; message: string }) => error.code === 'PIECES_INSERT_MISMATCH' && /1 rows inserted and 0 refused, of 2 sent/.test(error.message));
    assert.equal(statements.length, 1, 'nothing written after it');
  });
});
