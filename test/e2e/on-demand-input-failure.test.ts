/**
 * A stored input that cannot be read is never handed to a transform as null: the on-demand views reading
 * it (directly or through a chain) fail with the read's error, on onlineFeatures and on typed fields,
 * while views that do not read it are computed as usual.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SkewlessError } from '../../src/errors.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { Stores } from '../../src/stores/open.ts';
import type { OnlineKey, OnlineStore } from '../../src/stores/types.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

describe('on-demand views over an input that cannot be read', () => {
  let stores: Stores;
  let gateway: TestGateway;
  before(async () => {
    const inner = new MemoryOnlineStore();
    // stats_c's reads fail, as a Redis timeout would; every other view reads normally.
    const online: OnlineStore = Object.assign(Object.create(inner) as OnlineStore, {
      read: async (keys: readonly OnlineKey[]) => {
        const entries = await inner.read(keys);
        return keys.map((k, i) => (k.view === 'stats_c' ? new SkewlessError('ONLINE_STORE_UNAVAILABLE', 'stats_c: read timed out', { retriable: true }) : entries[i]!));
      },
      writeIfNewer: inner.writeIfNewer.bind(inner),
      ping: inner.ping.bind(inner),
      close: inner.close.bind(inner),
    });
    stores = { online, offline: await pgliteOfflineStore() };
    gateway = await startTestGateway(await loadFixtureRegistry(), stores);
    const pushed = await postGraphQL(gateway.base, 'mutation ($r: [JSON!]!) { pushFeatures(view: "stats_a", rows: $r) { rows } }', { r: [{ user_id: 'f1', event_timestamp: Date.now() - 1000, a_int: 2, a_float: 4 }] });
    assert.equal(pushed.body.errors, undefined);
  });
  after(async () => {
    await gateway.close();
    await stores.offline.close();
  });

  it('fails the views reading it with its code, and computes the others', async () => {
    const frame = await postGraphQL(gateway.base, 'query { onlineFeatures(features: ["scored:ratio", "scored_twice:ratio2", "fragile:echoed"], entities: [{user_id: "f1", amount: 8}]) { columns rows statuses errors { view code rows } } }');
    assert.equal(frame.body.errors, undefined, JSON.stringify(frame.body.errors));
    const data = frame.body.data!.onlineFeatures as { rows: unknown[][]; statuses: unknown[][]; errors: { view: string; code: string }[] };
    assert.deepEqual(data.rows, [['f1', null, null, 8]]);
    assert.deepEqual(data.statuses, [[null, 'ERROR', 'ERROR', 'PRESENT']]);
    assert.deepEqual(data.errors.map((e) => `${e.view} ${e.code}`).sort(), ['scored ONLINE_STORE_UNAVAILABLE', 'scored_twice ONLINE_STORE_UNAVAILABLE']);

    const typed = await postGraphQL(gateway.base, 'query { user(user_id: "f1") { scored(request: {amount: 8}) { ratio } fragile(request: {amount: 8}) { echoed } } }');
    assert.deepEqual(JSON.parse(JSON.stringify(typed.body.data)), { user: { scored: null, fragile: { echoed: 8 } } });
    assert.equal(typed.body.errors?.[0]?.extensions?.code, 'ONLINE_STORE_UNAVAILABLE');
    assert.deepEqual(typed.body.errors?.[0]?.path, ['user', 'scored']);
  });
});
