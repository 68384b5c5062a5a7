/**
 * Exactly once under kill -9: `skewless materialize` processes are killed with SIGKILL, over and over, as
 * soon as each has committed something, while 100k messages are produced. Then one runs to the end. The
 * offline history (appended without any deduplication, so a double count would show), the event archive,
 * the aggregation tiles and the online values must equal an oracle computed from what was produced.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { kafkaClient } from '../../src/ops/kafka-client.ts';
import type { Message } from 'kafkajs';
import { valueAt } from '../../src/features/aggregate/finalize.ts';
import type { AggregationView } from '../../src/registry/types.ts';
import { offlineAggregationValues } from '../../src/serving/aggregation-offline.ts';
import { OFFSETS, OUTBOX, eventsTable } from '../../src/stores/sql/materializer-tables.ts';
import { historyTable } from '../../src/stores/sql/history.ts';
import type { Stores } from '../../src/stores/open.ts';
import { outOfOrderRows } from '../helpers/materialization-oracle.ts';
import { materializerRepo, spawnMaterializer } from '../helpers/materializer.ts';
import type { MaterializerRepo } from '../helpers/materializer.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { kafkaTopics, realStores, serviceUrl, testProducer, uniqueName } from '../helpers/services.ts';

const ROWS = 80_000;
const EVENTS = 20_000;
const USERS = 1_000;
const KILLS = 4;

describe('materializer: kill -9 while 100k messages are produced', () => {
  const id = uniqueName('crash');
  const rowsTopic = `${id}_rows`;
  const eventsTopic = `${id}_events`;
  const view = `${id}_stats`;
  const group = `${id}_group`;
  const brokers = serviceUrl('KAFKA_BROKERS');
  const kafka = kafkaClient('skewless-test', brokers.split(','));
  let repo: MaterializerRepo;
  let dir: string;
  let stores: Stores;

  before(async () => {
    repo = await materializerRepo('crash', { source: 'CrashTxn', eventsTopic, rowsTopic, rowsView: view, spendView: `${id}_spend` });
    dir = repo.dir;
    stores = await realStores();
    // As each materializer does at start; here so that offsets can be polled before the first has started
    // (on a fresh database, this file run first, the poll failed).
    await stores.offline.ensureSchema(await registryFromSdl(repo.sdl));
    await kafkaTopics(kafka, 'create', [rowsTopic, eventsTopic], 4);
  });

  after(async () => {
    await kafkaTopics(kafka, 'delete', [rowsTopic, eventsTopic]);
    await stores.online.close();
    await stores.offline.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (): ChildProcess => spawnMaterializer(repo, group, 'error', ['ignore', 'ignore', 'ignore']);
  const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  const committed = async () => {
    const rows = await stores.offline.query<{ n: string | null }>(`select sum(next_offset) as n from ${OFFSETS} where group_id = $1`, [group]);
    return Number(rows[0]!.n ?? 0);
  };
  /** Polls until `done`; the deadline only bounds a broken run. */
  const until = async (done: () => Promise<boolean>, what: string, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (!(await done())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await delay(50);
    }
  };

  it('loses nothing and counts nothing twice', { timeout: 600_000 }, async () => {
    const base = Date.now() - 3_600_000;
    // Mostly rising event times, every seventh row older than the user's newest so far: out of order.
    const { rows: rowMessages, newest, rowsPerUser } = outOfOrderRows(id, ROWS, USERS, base);
    const eventMessages: Message[] = Array.from({ length: EVENTS }, (_, i) => {
      const user = `${id}-u${i % USERS}`;
      return { key: user, value: JSON.stringify({ user_id: user, amount: i / 4, at: new Date(base + i).toISOString() }) };
    });

    // Produce in the background, in chunks, while materializers are started and killed.
    const producer = testProducer(kafka);
    await producer.connect();
    const produced = (async () => {
      for (let start = 0; start < ROWS; start += 4_000) {
        await producer.send({ topic: rowsTopic, messages: rowMessages.slice(start, start + 4_000) });
        const e = (start / ROWS) * EVENTS;
        await producer.send({ topic: eventsTopic, messages: eventMessages.slice(e, e + (4_000 * EVENTS) / ROWS) });
      }
      await producer.disconnect();
    })();

    for (let k = 0; k < KILLS; k++) {
      const before = await committed();
      const child = start();
      await until(async () => (await committed()) > before, `materializer ${k} to commit something`);
      child.kill('SIGKILL');
      await exited(child);
    }
    await produced;
    const last = start();
    try {
      await until(async () => (await committed()) === ROWS + EVENTS, 'the last materializer to commit everything');
      await until(async () => (await stores.offline.query(`select 1 from ${OUTBOX} where view = $1 limit 1`, [view])).length === 0, 'the outbox to drain');
    } finally {
      last.kill('SIGTERM');
      await exited(last);
    }

    const history = await stores.offline.query<{ user_id: string; n: string }>(`select user_id, count(*) as n from ${historyTable(view)} group by user_id`);
    assert.equal(history.reduce((sum, r) => sum + Number(r.n), 0), ROWS, 'every row once: none lost, none twice');
    for (const r of history) assert.equal(Number(r.n), rowsPerUser.get(r.user_id), `rows of ${r.user_id}`);
    const archived = await stores.offline.query<{ n: string }>(`select count(*) as n from ${eventsTable('CrashTxn')} where user_id like $1`, [`${id}-%`]);
    assert.equal(Number(archived[0]!.n), EVENTS);
    // Tiles: each user's windows over the whole run equal the same functions over the produced events.
    const registry = await registryFromSdl(repo.sdl);
    const spend = registry.view(`${id}_spend`) as AggregationView;
    const t = Date.now();
    for (let u = 0; u < USERS; u += 25) {
      const user = `${id}-u${u}`;
      const raw = eventMessages.map((m) => JSON.parse(m.value as string) as { user_id: string; amount: number; at: string }).filter((e) => e.user_id === user);
      const want = Object.fromEntries(spend.features.map((f) => [f.name, valueAt(f, [], raw.map((e) => ({ time: Date.parse(e.at), row: { ...e, at: Date.parse(e.at) } })), t)]));
      assert.deepEqual(await offlineAggregationValues(registry, stores.offline, spend, { user_id: user }, t), want, `${user}: windows`);
    }
    const users = [...newest.keys()];
    const online = await stores.online.read(users.map((u) => ({ view, entity: 'User', entityKey: u })));
    online.forEach((entry, i) => {
      const want = newest.get(users[i]!)!;
      assert.ok(entry !== null && !(entry instanceof Error) && 'eventTs' in entry, `${users[i]} online`);
      assert.deepEqual([entry.eventTs, entry.values.n], [want.at, want.n], `${users[i]}: the newest row online`);
    });
  });
});
