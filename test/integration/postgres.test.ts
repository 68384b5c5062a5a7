/** Plumbing against a real PostgreSQL: the offline store connects, writes and reads. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import type { SqlOfflineStore } from '../../src/stores/sql/offline.ts';
import { serviceUrl, uniqueName } from '../helpers/services.ts';

describe('PostgreSQL offline store (real server)', () => {
  let store: SqlOfflineStore;
  const table = uniqueName('plumbing');

  before(() => {
    store = postgresOfflineStore(serviceUrl('DATABASE_URL'));
  });
  after(async () => {
    await store.query(`drop table if exists ${table}`);
    await store.close();
  });

  it('answers ping on a server of version 15 or newer', async () => {
    await store.ping();
    const rows = await store.query<{ v: string }>("select current_setting('server_version_num') as v");
    assert.ok(Number(rows[0]?.v) >= 150000, `server_version_num ${rows[0]?.v}`);
  });

  it('writes rows and reads them back with timestamps at millisecond precision', async () => {
    await store.query(`create table ${table} (user_id text not null, event_timestamp timestamptz not null, value double precision)`);
    const at = new Date(Date.UTC(2026, 10, 21, 5, 31, 9, 123));
    await store.query(`insert into ${table} values ($1, $2, $3), ($4, $2, $5)`, ['u1', at, 1.5, 'u2', null]);
    const rows = await store.query<{ user_id: string; event_timestamp: Date; value: number | null }>(`select user_id, event_timestamp, value from ${table} order by user_id`);
    assert.deepEqual(
      rows.map((r) => [r.user_id, r.event_timestamp.getTime(), r.value]),
      [
        ['u1', at.getTime(), 1.5],
        ['u2', at.getTime(), null],
      ],
    );
  });

  it('reports a clear error when the server is unreachable', async () => {
    const url = new URL(serviceUrl('DATABASE_URL'));
    url.port = '1';
    const down = postgresOfflineStore(url.toString());
    await assert.rejects(down.ping(), /ECONNREFUSED|connect/);
    await down.close();
  });
});
