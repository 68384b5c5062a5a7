/** The pure parts and the recorders behind /metrics, each against its own registry. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SkewlessError } from '../../../src/errors.ts';
import { MAX_OPERATION_NAME, OperationLabels, gatewayMetrics } from '../../../src/ops/gateway-metrics.ts';
import { commitCounts, materializerMetrics } from '../../../src/ops/materializer-metrics.ts';
import { counter, createMetrics } from '../../../src/ops/metrics.ts';
import { observedOnlineRead } from '../../../src/ops/online-read-metrics.ts';
import { failureCounts, transformMetrics } from '../../../src/ops/transform-metrics.ts';
import type { OnlineEntry, OnlineKey, OnlineStore } from '../../../src/stores/types.ts';
import { ALL_STEPS } from '../../../src/transforms/pool.ts';
import type { SandboxPlan } from '../../../src/transforms/pool.ts';
import { parseExposition, sample } from '../../helpers/metrics.ts';

const render = async (metrics: ReturnType<typeof createMetrics>) => parseExposition((await metrics.render()).body);

describe('operation labels', () => {
  it('are the operation name, or anonymous for none or a name GraphQL would not accept', () => {
    const labels = new OperationLabels();
    assert.equal(labels.label('UserVector'), 'UserVector');
    assert.equal(labels.label(undefined), 'anonymous');
    assert.equal(labels.label(null), 'anonymous');
    assert.equal(labels.label('drop table; --'), 'anonymous');
    assert.equal(labels.label('x'.repeat(MAX_OPERATION_NAME + 10)), 'x'.repeat(MAX_OPERATION_NAME));
  });

  it('stop growing at their bound: later names count as other, known ones keep their label', () => {
    const labels = new OperationLabels(2);
    assert.equal(labels.label('A'), 'A');
    assert.equal(labels.label('B'), 'B');
    assert.equal(labels.label('C'), 'other');
    assert.equal(labels.label('A'), 'A');
  });
});

describe('metric registration', () => {
  it('hands a second asker the metric already registered under the name', () => {
    const metrics = createMetrics({ defaults: false });
    const a = counter(metrics, { name: 'skewless_test_total', help: 'a' });
    const b = counter(metrics, { name: 'skewless_test_total', help: 'a' });
    assert.equal(a, b);
    assert.doesNotThrow(() => gatewayMetrics(metrics) && gatewayMetrics(metrics));
  });
});

describe('online read metrics', () => {
  const store = (read: (keys: readonly OnlineKey[]) => Promise<OnlineEntry[]>): OnlineStore =>
    ({ kind: 'redis', read, ping: async () => {}, close: async () => {}, writeIfNewer: async () => [], writePieces: async () => [] }) as OnlineStore;
  const key = (entityKey: string): OnlineKey => ({ view: 'v', entity: 'User', entityKey });

  it('count one round trip per call, its keys, and each key that came back as an error, by code', async () => {
    const metrics = createMetrics({ defaults: false });
    const read = observedOnlineRead(
      store(async (keys) => keys.map((k) => (k.entityKey === 'bad' ? new SkewlessError('ONLINE_VALUE_CORRUPT', 'x') : null))),
      gatewayMetrics(metrics),
    );
    await read([key('a'), key('bad'), key('c')]);
    await read([key('d')]);
    const s = await render(metrics);
    assert.equal(sample(s, 'skewless_online_store_round_trips_total', { store: 'redis' }), 2);
    assert.equal(sample(s, 'skewless_online_store_errors_total', { store: 'redis', code: 'ONLINE_VALUE_CORRUPT' }), 1);
    assert.equal(sample(s, 'skewless_dataloader_batch_size_count', { loader: 'online' }), 2);
    assert.equal(sample(s, 'skewless_dataloader_batch_size_sum', { loader: 'online' }), 4);
    assert.equal(sample(s, 'skewless_dataloader_batch_size_bucket', { loader: 'online', le: '1' }), 1);
    assert.equal(sample(s, 'skewless_online_store_read_duration_seconds_count', { store: 'redis' }), 2);
  });

  it('count every key of a call that threw as failed, and pass the error on', async () => {
    const metrics = createMetrics({ defaults: false });
    const read = observedOnlineRead(
      store(async () => {
        throw new Error('socket closed');
      }),
      gatewayMetrics(metrics),
    );
    await assert.rejects(read([key('a'), key('b')]), /socket closed/);
    const s = await render(metrics);
    assert.equal(sample(s, 'skewless_online_store_errors_total', { store: 'redis', code: 'INTERNAL' }), 2);
    assert.equal(sample(s, 'skewless_online_store_read_duration_seconds_count', { store: 'redis' }), 1);
  });
});

describe('transform metrics', () => {
  const plan: SandboxPlan = {
    id: 'p1',
    steps: [
      { view: 'a_view', transform: 'a', inputs: [], request: true, outputs: [] },
      { view: 'b_view', transform: 'b', inputs: ['a_view'], request: false, outputs: [] },
    ],
  };

  it('count a failed row once per transform, and a dead isolate against every transform of the plan', () => {
    const counts = failureCounts(['a', 'b'], [
      { step: 0, row: 1, code: 'TRANSFORM_FAILED', message: '' },
      { step: 1, row: 1, code: 'TRANSFORM_FAILED', message: '' },
      { step: 1, row: 2, code: 'TRANSFORM_FAILED', message: '' },
      { step: ALL_STEPS, row: 3, code: 'TRANSFORM_TIMEOUT', message: '' },
    ]);
    assert.deepEqual(Object.fromEntries(counts), { 'a\u0000TRANSFORM_FAILED': 1, 'b\u0000TRANSFORM_FAILED': 2, 'a\u0000TRANSFORM_TIMEOUT': 1, 'b\u0000TRANSFORM_TIMEOUT': 1 });
  });

  it('time batches under the plan\'s transforms and count rows per transform', async () => {
    const metrics = createMetrics({ defaults: false });
    const observer = transformMetrics(metrics);
    observer.batch(plan, 5, 0.002, [{ step: 0, row: 4, code: 'TRANSFORM_FAILED', message: '' }]);
    observer.batch(plan, 3, 0.004, undefined);
    observer.isolateReplaced('TRANSFORM_OOM');
    const s = await render(metrics);
    assert.equal(sample(s, 'skewless_transform_batch_duration_seconds_count', { transform: 'a+b' }), 2);
    assert.equal(sample(s, 'skewless_transform_batch_duration_seconds_sum', { transform: 'a+b' }), 0.006);
    assert.equal(sample(s, 'skewless_transform_rows_total', { transform: 'a' }), 8);
    assert.equal(sample(s, 'skewless_transform_rows_total', { transform: 'b' }), 8);
    assert.equal(sample(s, 'skewless_transform_failures_total', { transform: 'a', code: 'TRANSFORM_FAILED' }), 1);
    assert.equal(sample(s, 'skewless_transform_failures_total', { transform: 'b', code: 'INTERNAL' }), 3);
    assert.equal(sample(s, 'skewless_transform_isolate_restarts_total', { code: 'TRANSFORM_OOM' }), 1);
  });
});

describe('materializer metrics', () => {
  const position = { partition: 0, offset: 0, payload: null, message: '' };
  const result = {
    events: new Map([['Txn', [{}, {}, {}]]]),
    rows: new Map([['stats', [{}, {}]]]),
    dead: [
      { ...position, topic: 'txns', reason: 'LATE' as const },
      { ...position, topic: 'txns', reason: 'LATE' as const },
      { ...position, topic: 'rows', reason: 'MALFORMED' as const },
    ],
    next: [],
    skipped: 4,
    onlineWrites: 5,
  };

  it('count what a commit wrote: events by source, rows by view, dead letters by topic and reason', () => {
    const counts = commitCounts(result as never);
    assert.deepEqual(Object.fromEntries(counts.events), { Txn: 3 });
    assert.deepEqual(Object.fromEntries(counts.rows), { stats: 2 });
    assert.deepEqual(Object.fromEntries(counts.dead), { 'txns\u0000LATE': 2, 'rows\u0000MALFORMED': 1 });
    assert.equal(counts.totalEvents, 3);
    assert.equal(counts.totalRows, 2);
  });

  it('add each commit to the counters', async () => {
    const metrics = createMetrics({ defaults: false });
    const observer = materializerMetrics(metrics);
    observer.fetched('txns', 0, 9);
    observer.fetched('rows', 1, 3);
    observer.committed(result as never, 12, 0.05);
    observer.onlineBehind(2);
    observer.failed(2);
    const s = await render(metrics);
    assert.equal(sample(s, 'skewless_materializer_fetched_messages_total', { topic: 'txns' }), 9);
    assert.equal(sample(s, 'skewless_materializer_fetched_batches_total', { topic: 'rows' }), 1);
    assert.equal(sample(s, 'skewless_materializer_events_total', { source: 'Txn' }), 3);
    assert.equal(sample(s, 'skewless_materializer_rows_total', { view: 'stats' }), 2);
    assert.equal(sample(s, 'skewless_materializer_dead_letters_total', { topic: 'txns', reason: 'LATE' }), 2);
    assert.equal(sample(s, 'skewless_materializer_skipped_messages_total'), 4);
    assert.equal(sample(s, 'skewless_materializer_online_writes_total'), 5);
    assert.equal(sample(s, 'skewless_materializer_commit_messages_sum'), 12);
    assert.equal(sample(s, 'skewless_materializer_commits_total', { outcome: 'ok' }), 1);
    assert.equal(sample(s, 'skewless_materializer_commits_total', { outcome: 'online_behind' }), 1);
    assert.equal(sample(s, 'skewless_materializer_commits_total', { outcome: 'failed' }), 1);
  });
});
