/**
 * The materializer against real Kafka, PostgreSQL and Redis: rows and raw events consumed from their
 * topics, bad messages dead-lettered with their position and reason, history and online values as the
 * messages say (an older row never overwriting a newer one), and a full redelivery counted zero times.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kafkaClient } from '../../src/ops/kafka-client.ts';
import type { Message } from 'kafkajs';
import { valueAt } from '../../src/features/aggregate/finalize.ts';
import { onlineKey } from '../../src/features/keys.ts';
import type { AggregationView } from '../../src/registry/types.ts';
import { offlineAggregationValues } from '../../src/serving/aggregation-offline.ts';
import { startMaterializer } from '../../src/materializer/consumer.ts';
import type { CommitResult } from '../../src/materializer/commit.ts';
import { watchCommits } from '../helpers/commits.ts';
import { createLogger } from '../../src/ops/log.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { Stores } from '../../src/stores/open.ts';
import type { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { DEAD_LETTERS, LEGACY_OUTBOX, OUTBOX, eventsTable } from '../../src/stores/sql/materializer-tables.ts';
import { historyTable } from '../../src/stores/sql/history.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { kafkaTopics, realStores, serviceUrl, testProducer, uniqueName } from '../helpers/services.ts';

const HOUR = 3_600_000;

describe('materializer (real Kafka, PostgreSQL, Redis)', () => {
  const id = uniqueName('m');
  const rowsTopic = `${id}_rows`;
  const eventsTopic = `${id}_events`;
  const kafka = kafkaClient('skewless-test', serviceUrl('KAFKA_BROKERS').split(','));
  const logger = createLogger('error', () => {});
  let registry: Registry;
  let stores: Stores;
  const view = `${id}_stats`;
  const source = 'Txn';
  const windows = `${id}_win`;

  /** Runs a materializer until `count` messages of this test have been accounted for (committed or skipped). */
  async function materialize(group: string, count: number): Promise<readonly CommitResult[]> {
    const watch = watchCommits(count);
    const m = await startMaterializer(registry, stores, { brokers: serviceUrl('KAFKA_BROKERS').split(','), groupId: group, onBatch: watch.onBatch }, logger);
    await watch.accounted;
    await m.stop();
    return watch.results;
  }

  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "${eventsTopic}", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type Stats @featureView(entity: "User", topic: "${rowsTopic}", name: "${view}") { n: Int score: Float }
      type Windows @featureView(entity: "User", source: "Txn", name: "${windows}") {
        c: Int! @aggregate(fn: COUNT, window: "1h")
        s: Float! @aggregate(fn: SUM, of: "amount", window: "1h")
        sd: Float @aggregate(fn: STDDEV, of: "amount", window: "30m")
        p: Float @aggregate(fn: APPROX_PERCENTILE, of: "amount", window: "2h", percentile: 0.5)
        last: DateTime @aggregate(fn: LAST, of: "at", window: "1d")
        d: Int! @aggregate(fn: APPROX_COUNT_DISTINCT, of: "amount", window: "1d")
      }
    `);
    stores = await realStores();
    await kafkaTopics(kafka, 'create', [rowsTopic, eventsTopic], 3);
  });

  after(async () => {
    await kafkaTopics(kafka, 'delete', [rowsTopic, eventsTopic]);
    await stores.online.close();
    await stores.offline.close();
  });

  it('consumes rows and events exactly once, dead-letters bad messages, and never lets an older row win online', async () => {
    const now = Date.now();
    const rowMessages: Message[] = [];
    // Per user: a newer row, then an older one (out of order), each keyed by the user.
    for (let u = 0; u < 10; u++) {
      rowMessages.push({ key: `u${u}`, value: JSON.stringify({ user_id: `${id}-u${u}`, event_timestamp: now - HOUR, n: u, score: u / 3 }) });
      rowMessages.push({ key: `u${u}`, value: JSON.stringify({ user_id: `${id}-u${u}`, event_timestamp: now - 2 * HOUR, n: -1, score: null }) });
    }
    rowMessages.push({ key: 'bad', value: '{not json' });
    rowMessages.push({ key: 'bad', value: JSON.stringify({ user_id: `${id}-x`, event_timestamp: now, n: 'many' }) });
    const eventMessages: Message[] = [];
    for (let i = 0; i < 20; i++) eventMessages.push({ key: `u${i % 4}`, value: JSON.stringify({ user_id: `${id}-u${i % 4}`, amount: i * 1.5, at: new Date(now - i * 60_000).toISOString() }) });
    eventMessages.push({ key: 'late', value: JSON.stringify({ user_id: `${id}-late`, amount: 1, at: new Date(now - 3 * 24 * HOUR).toISOString() }), timestamp: String(now) });
    eventMessages.push({ key: 'future', value: JSON.stringify({ user_id: `${id}-future`, amount: 1, at: new Date(now + HOUR).toISOString() }), timestamp: String(now) });
    eventMessages.push({ key: 'extra', value: JSON.stringify({ user_id: `${id}-x`, amount: 1, at: new Date(now).toISOString(), colour: 'red' }) });
    const producer = testProducer(kafka);
    await producer.connect();
    await producer.send({ topic: rowsTopic, messages: rowMessages });
    await producer.send({ topic: eventsTopic, messages: eventMessages });
    await producer.disconnect();
    const total = rowMessages.length + eventMessages.length;

    const group = `${id}_group`;
    const first = await materialize(group, total);
    assert.equal(first.reduce((n, r) => n + r.skipped, 0), 0);

    const history = await stores.offline.query<{ user_id: string; n: number }>(`select user_id, n from ${historyTable(view)} order by user_id, event_timestamp`);
    assert.equal(history.length, 20, 'every valid row in history, older ones included');
    const archived = await stores.offline.query<{ n: string }>(`select count(*) as n from ${eventsTable(source)} where user_id like $1`, [`${id}-%`]);
    assert.equal(Number(archived[0]!.n), 20, 'every valid event archived once');
    const dead = await stores.offline.query<{ reason: string; payload: string; topic: string; message: string }>(`select reason, payload, topic, message from ${DEAD_LETTERS} where topic in ($1, $2) order by reason`, [rowsTopic, eventsTopic]);
    assert.deepEqual(dead.map((d) => d.reason), ['FUTURE', 'INVALID', 'INVALID', 'LATE', 'MALFORMED']);
    assert.equal(dead.find((d) => d.reason === 'MALFORMED')!.payload, '{not json');
    const invalid = dead.filter((d) => d.reason === 'INVALID').map((d) => d.message).sort();
    assert.deepEqual(invalid, ['n: must be a 32-bit integer, got "many"', 'source Txn has no field "colour"']);

    const online = await stores.online.read(Array.from({ length: 10 }, (_, u) => ({ view, entity: 'User', entityKey: `${id}-u${u}` })));
    online.forEach((entry, u) => {
      assert.ok(entry !== null && !(entry instanceof Error) && 'eventTs' in entry, `u${u} online`);
      assert.equal(entry.eventTs, now - HOUR, `u${u}: the newer row stays online`);
      assert.deepEqual(entry.values, { n: u, score: u / 3 });
    });
    // Aggregations: tiles plus the archived head, finalised, equal the same function over the raw events alone.
    const win = registry.view(windows) as AggregationView;
    const accepted = eventMessages.slice(0, 20).map((m) => JSON.parse(m.value as string) as { user_id: string; amount: number; at: string });
    for (let u = 0; u < 4; u++) {
      const user = `${id}-u${u}`;
      const raw = accepted.filter((e) => e.user_id === user).map((e) => ({ time: Date.parse(e.at), row: { ...e, at: Date.parse(e.at) } }));
      for (const t of [now, now - 5 * 60_000, now - 17 * 60_000 + 1, now + 40 * 60_000, now + 3 * HOUR]) {
        const got = await offlineAggregationValues(registry, stores.offline, win, { user_id: user }, t);
        const want = Object.fromEntries(win.features.map((f) => [f.name, valueAt(f, [], raw, t)]));
        assert.deepEqual(got, want, `${user} at ${new Date(t).toISOString()}`);
      }
    }
    const decayed = await offlineAggregationValues(registry, stores.offline, win, { user_id: `${id}-u0` }, now + 3 * HOUR);
    assert.equal(decayed.c, 0, 'no new events: the 1h count decays to 0');
    const tiles = await stores.offline.query<{ n: string }>(`select count(*) as n from skewless."tiles_${windows}"`);
    assert.ok(Number(tiles[0]!.n) > 0);

    const owed = await stores.offline.query(`select * from ${OUTBOX} where view = $1`, [view]);
    assert.deepEqual(owed, [], 'nothing owed online after a clean run');

    // Kafka forgets the group's position: everything is redelivered, and PostgreSQL's offsets skip it all.
    const admin = kafka.admin();
    await admin.connect();
    for (const topic of [rowsTopic, eventsTopic]) await admin.resetOffsets({ groupId: group, topic, earliest: true });
    await admin.disconnect();
    const again = await materialize(group, total);
    assert.equal(again.reduce((n, r) => n + r.skipped, 0), total, 'every redelivered message recognised as committed');
    const counted = await offlineAggregationValues(registry, stores.offline, win, { user_id: `${id}-u1` }, now);
    assert.equal(counted.c, 5, 'redelivered events are not folded into tiles again');
    const historyAfter = await stores.offline.query<{ n: string }>(`select count(*) as n from ${historyTable(view)}`);
    assert.equal(Number(historyAfter[0]!.n), 20);
    const deadAfter = await stores.offline.query<{ n: string }>(`select count(*) as n from ${DEAD_LETTERS} where topic in ($1, $2)`, [rowsTopic, eventsTopic]);
    assert.equal(Number(deadAfter[0]!.n), 5);

    // A later batch lands in tiles that already hold partials: they are merged, not overwritten.
    const more: Message[] = Array.from({ length: 8 }, (_, i) => ({ key: `u${i % 4}`, value: JSON.stringify({ user_id: `${id}-u${i % 4}`, amount: 100 + i, at: new Date(now - i * 90_000 - 30_000).toISOString() }) }));
    const second = testProducer(kafka);
    await second.connect();
    await second.send({ topic: eventsTopic, messages: more });
    await second.disconnect();
    await materialize(group, more.length);
    const all = [...accepted, ...more.map((m) => JSON.parse(m.value as string) as { user_id: string; amount: number; at: string })];
    for (let u = 0; u < 4; u++) {
      const user = `${id}-u${u}`;
      const raw = all.filter((e) => e.user_id === user).map((e) => ({ time: Date.parse(e.at), row: { ...e, at: Date.parse(e.at) } }));
      const want = Object.fromEntries(win.features.map((f) => [f.name, valueAt(f, [], raw, now)]));
      assert.deepEqual(await offlineAggregationValues(registry, stores.offline, win, { user_id: user }, now), want, `${user} after a second batch`);
    }
  });

  it('makes good an online write that was committed but never made, on start', async () => {
    const key = `${id}-u3`;
    // As if the process died between the commit and the online write: the value is gone, the outbox has it
    // (in the per-entity table of earlier versions, which a start also makes good).
    await stores.offline.query(`insert into ${LEGACY_OUTBOX} (view, entity_key) values ($1, $2)`, [view, key]);
    await (stores.online as RedisOnlineStore).client.del(onlineKey('User', key, view));
    assert.equal((await stores.online.read([{ view, entity: 'User', entityKey: key }]))[0], null);
    const m = await startMaterializer(registry, stores, { brokers: serviceUrl('KAFKA_BROKERS').split(','), groupId: `${id}_group` }, logger);
    await m.stop();
    const [entry] = await stores.online.read([{ view, entity: 'User', entityKey: key }]);
    assert.ok(entry !== undefined && entry !== null && !(entry instanceof Error) && 'values' in entry);
    assert.deepEqual(entry.values, { n: 3, score: 1 });
    assert.deepEqual(await stores.offline.query(`select * from ${OUTBOX} where view = $1`, [view]), []);
    assert.deepEqual(await stores.offline.query(`select * from ${LEGACY_OUTBOX} where view = $1`, [view]), []);
  });
});
