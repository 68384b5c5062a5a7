/**
 * The materializer's metrics against real Kafka, PostgreSQL and Redis: throughput counters, dead letters
 * by reason and lag per partition, in process (every counter compared with what was produced) and from
 * `skewless materialize --metrics-port 0` over HTTP; view freshness with lag, read from PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { kafkaClient } from '../../src/ops/kafka-client.ts';
import type { Kafka, Message } from 'kafkajs';
import { startMaterializer } from '../../src/materializer/consumer.ts';
import { viewFreshness } from '../../src/ops/freshness.ts';
import { KafkaLag } from '../../src/ops/lag.ts';
import { createLogger } from '../../src/ops/log.ts';
import { materializerMetrics } from '../../src/ops/materializer-metrics.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { Stores } from '../../src/stores/open.ts';
import { watchCommits } from '../helpers/commits.ts';
import { materializerRepo } from '../helpers/materializer.ts';
import { parseExposition, sample, scrape } from '../helpers/metrics.ts';
import { ROOT } from '../helpers/paths.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { kafkaTopics, realStores, serviceUrl, testProducer, uniqueName } from '../helpers/services.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A type name no other run uses: the source's archive table is named after it. */
const uniqueTypeName = (prefix: string) => `${prefix}${process.pid}${Math.random().toString(36).slice(2, 8).replace(/[0-9]/g, 'x')}`;

async function produce(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = testProducer(kafka);
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
}

describe('materializer metrics (real Kafka, PostgreSQL, Redis)', () => {
  const kafka = kafkaClient('skewless-test', serviceUrl('KAFKA_BROKERS').split(','));
  let stores: Stores;
  const topics: string[] = [];

  before(async () => {
    stores = await realStores();
  });

  after(async () => {
    await kafkaTopics(kafka, 'delete', topics);
    await stores.online.close();
    await stores.offline.close();
  });

  describe('in process', () => {
    const id = uniqueName('mm');
    const rowsTopic = `${id}_rows`;
    const eventsTopic = `${id}_events`;
    const source = uniqueTypeName('ObsTxn');
    const statsView = `${id}_stats`;
    const winView = `${id}_win`;
    const now = Date.now();
    let registry: Registry;

    before(async () => {
      registry = await registryFromSdl(`
        type User @entity(key: ["user_id"]) { user_id: ID! }
        type ${source} @source(topic: "${eventsTopic}", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
        type Stats @featureView(entity: "User", topic: "${rowsTopic}", name: "${statsView}", freshness: "1h") { n: Int }
        type Win @featureView(entity: "User", source: "${source}", name: "${winView}", freshness: "1m") { c: Int! @aggregate(fn: COUNT, window: "1d") }
      `);
      topics.push(rowsTopic, eventsTopic);
      await kafkaTopics(kafka, 'create', [rowsTopic, eventsTopic], 3);
      await stores.offline.ensureSchema(registry);
    });

    it('counts what it consumed and committed, dead letters by reason, and lag that falls to zero', async () => {
      const rows: Message[] = Array.from({ length: 6 }, (_, u) => ({ key: `u${u}`, value: JSON.stringify({ user_id: `${id}-u${u}`, event_timestamp: now - 2 * HOUR - u * MIN, n: u }) }));
      rows.push({ key: 'bad', value: '{not json' }, { key: 'bad', value: JSON.stringify({ user_id: `${id}-x`, event_timestamp: now, n: 'many' }) });
      const events: Message[] = Array.from({ length: 10 }, (_, i) => ({ key: `u${i % 3}`, value: JSON.stringify({ user_id: `${id}-u${i % 3}`, amount: i, at: new Date(now - i * MIN).toISOString() }), timestamp: String(now) }));
      events.push({ key: 'late', value: JSON.stringify({ user_id: `${id}-late`, amount: 1, at: new Date(now - 3 * 24 * HOUR).toISOString() }), timestamp: String(now) });
      events.push({ key: 'future', value: JSON.stringify({ user_id: `${id}-future`, amount: 1, at: new Date(now + HOUR).toISOString() }), timestamp: String(now) });
      await produce(kafka, rowsTopic, rows);
      await produce(kafka, eventsTopic, events);
      const group = `${id}_group`;
      const lag = new KafkaLag(serviceUrl('KAFKA_BROKERS').split(','), stores.offline, group);
      try {
        const backlog = await lag.read([rowsTopic, eventsTopic]);
        assert.equal(backlog.length, 6, 'every partition of both topics');
        assert.ok(backlog.every((p) => p.committed === null), 'the group has committed nothing yet');
        const lagOf = (topic: string, list: typeof backlog) => list.filter((p) => p.topic === topic).reduce((n, p) => n + p.lag, 0);
        assert.equal(lagOf(rowsTopic, backlog), rows.length);
        assert.equal(lagOf(eventsTopic, backlog), events.length);

        const early = await viewFreshness(registry, stores.offline, { now, lag });
        assert.deepEqual(
          early.views.map((v) => [v.view, v.newestEventTime, v.stale, v.topic, v.lag]),
          [
            [statsView, null, true, rowsTopic, rows.length],
            [winView, null, true, eventsTopic, events.length],
          ],
        );

        const metrics = createMetrics({ defaults: false });
        const { onBatch, results, accounted } = watchCommits(rows.length + events.length);
        const m = await startMaterializer(registry, stores, { brokers: serviceUrl('KAFKA_BROKERS').split(','), groupId: group, onBatch, observer: materializerMetrics(metrics) }, createLogger('error', () => {}));
        await accounted;
        await m.stop();

        const s = parseExposition((await metrics.render()).body);
        assert.equal(sample(s, 'skewless_materializer_events_total', { source }), 10);
        assert.equal(sample(s, 'skewless_materializer_rows_total', { view: statsView }), 6);
        assert.equal(sample(s, 'skewless_materializer_dead_letters_total', { topic: rowsTopic, reason: 'MALFORMED' }), 1);
        assert.equal(sample(s, 'skewless_materializer_dead_letters_total', { topic: rowsTopic, reason: 'INVALID' }), 1);
        assert.equal(sample(s, 'skewless_materializer_dead_letters_total', { topic: eventsTopic, reason: 'LATE' }), 1);
        assert.equal(sample(s, 'skewless_materializer_dead_letters_total', { topic: eventsTopic, reason: 'FUTURE' }), 1);
        assert.equal(sample(s, 'skewless_materializer_fetched_messages_total', { topic: rowsTopic }), rows.length);
        assert.equal(sample(s, 'skewless_materializer_fetched_messages_total', { topic: eventsTopic }), events.length);
        assert.equal(sample(s, 'skewless_materializer_skipped_messages_total'), 0);
        assert.equal(sample(s, 'skewless_materializer_commits_total', { outcome: 'ok' }), results.length);
        assert.equal(sample(s, 'skewless_materializer_commit_duration_seconds_count'), results.length);
        assert.equal(sample(s, 'skewless_materializer_commit_messages_sum'), rows.length + events.length);
        assert.equal(sample(s, 'skewless_materializer_online_writes_total'), results.reduce((n, r) => n + r.onlineWrites, 0));

        const caughtUp = await lag.read([rowsTopic, eventsTopic]);
        assert.deepEqual(caughtUp.map((p) => p.lag), [0, 0, 0, 0, 0, 0]);
        assert.ok(caughtUp.every((p) => p.committed === p.end), 'PostgreSQL holds every end offset');

        const late = await viewFreshness(registry, stores.offline, { now, lag });
        assert.deepEqual(
          late.views.map((v) => [v.view, v.newestEventTime, v.ageMs, v.stale, v.lag]),
          [
            // Newest row: two hours old against a freshness of one hour.
            [statsView, now - 2 * HOUR, 2 * HOUR, true, 0],
            // Newest accepted event: at `now`; the FUTURE one was dead-lettered, not archived.
            [winView, now, 0, false, 0],
          ],
        );
      } finally {
        await lag.close();
      }
    });
  });

  describe('skewless materialize', () => {
    const id = uniqueName('mmcli');
    const names = { source: uniqueTypeName('CliTxn'), eventsTopic: `${id}_events`, rowsTopic: `${id}_rows`, rowsView: `${id}_stats`, spendView: `${id}_spend` };
    let child: ChildProcess | undefined;

    after(() => {
      if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    });

    it('serves /metrics and /healthz on --metrics-port, with its backlog, throughput and lag per partition', { timeout: 120_000 }, async () => {
      topics.push(names.rowsTopic, names.eventsTopic);
      await kafkaTopics(kafka, 'create', [names.rowsTopic, names.eventsTopic], 3);
      const repo = await materializerRepo('mmcli', names);
      const now = Date.now();
      const rows: Message[] = Array.from({ length: 5 }, (_, u) => ({ key: `u${u}`, value: JSON.stringify({ user_id: `${id}-u${u}`, event_timestamp: now - MIN, n: u }) }));
      const events: Message[] = Array.from({ length: 7 }, (_, i) => ({ key: `u${i}`, value: JSON.stringify({ user_id: `${id}-u${i}`, amount: i, at: new Date(now - i * MIN).toISOString() }) }));
      events.push({ key: 'm1', value: 'not json' }, { key: 'm2', value: '[1, 2]' });
      await produce(kafka, names.rowsTopic, rows);
      await produce(kafka, names.eventsTopic, events);
      const total = rows.length + events.length;

      child = spawn(
        process.execPath,
        [path.join(ROOT, 'src/cli/main.ts'), 'materialize', '--schema', path.join(repo.dir, 'schema'), '--transforms', path.join(repo.dir, 'transforms'), '--consumer-group', `${id}_group`, '--kafka-session-timeout', '6000', '--log-level', 'debug', '--metrics-port', '0', '--freshness-interval', '1s'],
        { cwd: ROOT, env: { ...process.env, KAFKA_BROKERS: serviceUrl('KAFKA_BROKERS'), DATABASE_URL: serviceUrl('DATABASE_URL'), REDIS_URL: serviceUrl('REDIS_URL') }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const log = logLines(child);

      const metricsLine = await log.next((l) => l.msg === 'materializer.metrics');
      const url = String(metricsLine.url);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      // Read before consuming starts: the whole backlog.
      const first = await log.next((l) => l.msg === 'materializer.lag');
      assert.deepEqual([first.total, first.partitions], [total, 6]);

      let committed = 0;
      await log.next((l) => l.msg === 'materializer.committed' && (committed += Number(l.messages)) >= total);
      // The first reading taken after the last commit.
      await log.next((l) => l.msg === 'materializer.lag');
      const lagLine = await log.next((l) => l.msg === 'materializer.lag');
      assert.equal(lagLine.total, 0);

      const s = await scrape(url);
      for (const topic of [names.rowsTopic, names.eventsTopic]) {
        for (const partition of ['0', '1', '2']) assert.equal(s.get(`skewless_materializer_lag_messages{partition="${partition}",topic="${topic}"}`), 0, `${topic}/${partition}`);
      }
      assert.equal(sample(s, 'skewless_materializer_events_total', { source: names.source }), 7);
      assert.equal(sample(s, 'skewless_materializer_rows_total', { view: names.rowsView }), 5);
      assert.equal(sample(s, 'skewless_materializer_dead_letters_total', { topic: names.eventsTopic, reason: 'MALFORMED' }), 2);
      assert.equal(sample(s, 'skewless_materializer_fetched_messages_total', { topic: names.eventsTopic }), events.length);
      assert.equal(sample(s, 'skewless_materializer_commit_messages_sum'), total);
      assert.ok(sample(s, 'skewless_materializer_lag_checked_timestamp_seconds') * 1000 >= now);
      assert.ok(s.has('skewless_process_resident_memory_bytes'), 'process metrics too');

      const health = await fetch(url.replace(/\/metrics$/, '/healthz'));
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });

      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    });
  });
});

/** The child's JSON log lines, in order; `next` resolves with the first line after the last one taken that matches. */
function logLines(child: ChildProcess): { next(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> } {
  const seen: Record<string, unknown>[] = [];
  let taken = 0;
  let output = '';
  const waiters: (() => void)[] = [];
  let exited = false;
  const wake = () => waiters.splice(0).forEach((w) => w());
  createInterface({ input: child.stdout! }).on('line', (line) => {
    output += line + '\n';
    try {
      seen.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return;
    }
    wake();
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  child.once('exit', () => {
    exited = true;
    wake();
  });
  return {
    async next(match) {
      for (;;) {
        while (taken < seen.length) {
          const line = seen[taken++]!;
          if (match(line)) return line;
        }
        if (exited) throw new Error(`materializer exited before the awaited line:\n${output}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}
