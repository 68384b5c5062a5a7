/**
 * writeOnline: online writes go out in calls of bounded size, and a write clears only the outbox entries
 * still owed under its own commit's token, never one a later commit owes again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ONLINE_WRITES_PER_CALL, flushOutbox, writeOnline } from '../../../src/materializer/online-sync.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../../src/stores/memory/online.ts';
import type { Stores } from '../../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import { OUTBOX, addOutboxSql, owedSql } from '../../../src/stores/sql/materializer-tables.ts';
import type { OnlineWrite } from '../../../src/stores/types.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const row = (i: number): OnlineWrite => ({ view: 'stats', entity: 'User', entityKey: `u${i}`, eventTs: 1000, createdTs: 1000, values: { score: i } });

describe('writeOnline', () => {
  let registry: Registry;
  let stores: Stores;
  const calls: number[] = [];
  const owed = async () => {
    const read = owedSql();
    return stores.offline.query(read.sql, read.params);
  };

  before(async () => {
    registry = await registryFromSdl(`type User @entity(key: ["user_id"]) { user_id: ID! } type Stats @featureView(entity: "User") { score: Float }`);
    const online = new MemoryOnlineStore();
    const write = online.writeIfNewer.bind(online);
    online.writeIfNewer = (writes) => {
      calls.push(writes.length);
      return write(writes);
    };
    stores = { online, offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
  });

  after(async () => {
    await stores.offline.close();
  });

  it('writes in calls of at most ONLINE_WRITES_PER_CALL entities, one after another, and writes every one', async () => {
    calls.length = 0;
    const rows = Array.from({ length: 2 * ONLINE_WRITES_PER_CALL + 17 }, (_, i) => row(i));
    await writeOnline(stores, { rows, pieces: [] });
    assert.deepEqual(calls, [ONLINE_WRITES_PER_CALL, ONLINE_WRITES_PER_CALL, 17]);
    const read = await stores.online.read(rows.map((r) => ({ view: r.view, entity: r.entity, entityKey: r.entityKey })));
    assert.deepEqual(read.map((r) => (r !== null && 'values' in r ? r.values.score : r)), rows.map((r) => r.values.score));
  });

  it('clears only the entries still owed under its own token', async () => {
    const first = addOutboxSql(new Map([['stats', ['a', 'b']]]), 'commit-1');
    await stores.offline.query(first.sql, first.params);
    // A later commit owes b again before the first commit's online write finishes.
    const second = addOutboxSql(new Map([['stats', ['b']]]), 'commit-2');
    await stores.offline.query(second.sql, second.params);
    await writeOnline(stores, { rows: [{ ...row(1), entityKey: 'a' }, { ...row(2), entityKey: 'b' }], pieces: [], token: 'commit-1' });
    assert.deepEqual(await owed(), [{ view: 'stats', entity_key: 'b', token: 'commit-2' }]);
    await writeOnline(stores, { rows: [{ ...row(2), entityKey: 'b' }], pieces: [], token: 'commit-2' });
    assert.deepEqual(await owed(), []);
  });

  it('makes good, by age, what a commit owed and never wrote (its process died)', async () => {
    const dead = addOutboxSql(new Map([['stats', ['old']]]), 'died-commit');
    await stores.offline.query(dead.sql, dead.params);
    await stores.offline.query(`update ${OUTBOX} set owed_at = now() - interval '1 minute' where token = 'died-commit'`);
    const live = addOutboxSql(new Map([['stats', ['new']]]), 'live-commit');
    await stores.offline.query(live.sql, live.params);
    // The history row the dead commit wrote, which the online store never got.
    await stores.offline.query(`insert into skewless."history_stats" (user_id, event_timestamp, created_timestamp, score) values ('old', to_timestamp(1), to_timestamp(1), 7)`);
    assert.equal(await flushOutbox(registry, stores, Date.now(), 30_000), 1, 'only the entity owed for longer than 30 s');
    assert.deepEqual(await owed(), [{ view: 'stats', entity_key: 'new', token: 'live-commit' }], 'a commit still in flight keeps its row');
    const [entry] = await stores.online.read([{ view: 'stats', entity: 'User', entityKey: 'old' }]);
    assert.ok(entry !== null && entry !== undefined && 'values' in entry && entry.values.score === 7, 'the dead commit\'s row is online');
    await flushOutbox(registry, stores);
    assert.deepEqual(await owed(), []);
  });

  it('makes good more entities than a JavaScript call takes arguments (a long online outage)', async () => {
    // Spread into one push, this many rows overflowed the stack, and every flush (each start) failed the same way.
    const count = 130_000;
    await stores.offline.query(`insert into skewless."history_stats" (user_id, event_timestamp, created_timestamp, score) select 'many' || i, to_timestamp(1), to_timestamp(1), i from generate_series(0, ${count - 1}) i`);
    const many = addOutboxSql(new Map([['stats', Array.from({ length: count }, (_, i) => `many${i}`)]]), 'outage');
    await stores.offline.query(many.sql, many.params);
    assert.equal(await flushOutbox(registry, stores), count);
    assert.deepEqual(await owed(), []);
    const read = await stores.online.read([0, 65_432, count - 1].map((i) => ({ view: 'stats', entity: 'User', entityKey: `many${i}` })));
    assert.deepEqual(read.map((r) => (r !== null && 'values' in r ? r.values.score : r)), [0, 65_432, count - 1]);
  });
});
