/**
 * Issue 7 (observability) on a gateway over HTTP, embedded stores: /metrics counts move by exactly the
 * requests made, request ids come back and mark the request's log lines, and a view older than its
 * declared freshness is stale in /readyz, /metrics and Query.freshness while a fresh one is not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildSchema } from '../../src/graphql/schema.ts';
import { FreshnessMonitor } from '../../src/ops/freshness-monitor.ts';
import { createLogger } from '../../src/ops/log.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Metrics } from '../../src/ops/metrics.ts';
import { transformMetrics } from '../../src/ops/transform-metrics.ts';
import { buildRegistry } from '../../src/registry/build.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { readSchemaFiles } from '../../src/registry/sdl.ts';
import { createGateway } from '../../src/server/gateway.ts';
import type { Gateway } from '../../src/server/gateway.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { TransformPool } from '../../src/transforms/pool.ts';
import { DEFAULT_POOL_OPTIONS } from '../../src/transforms/pool.ts';
import { startTransforms } from '../../src/transforms/start.ts';
import { parseExposition, moved, sample, scrape } from '../helpers/metrics.ts';

const SDL = `
type User @entity(key: ["user_id"]) { user_id: ID! }
type FreshStats @featureView(entity: "User", freshness: "15m") { n: Int }
type StaleStats @featureView(entity: "User", freshness: "15m") { n: Int }
type PlainStats @featureView(entity: "User") { n: Int }
input Req { amount: Float! }
type Echo @onDemand(transform: "flaky", inputs: ["fresh_stats"], request: "Req") { echoed: Float }
`;
// Fails on one amount, so failures have something to count.
const FLAKY = `export default function flaky(row) {
  if (row.request.amount === 13) throw new Error('unlucky');
  return { echoed: row.request.amount };
}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('observability: metrics, request ids, freshness (embedded stores)', () => {
  // The freshness clock stands still, so ages are exact.
  const T0 = Date.now();
  let registry: Registry;
  let stores: Stores;
  let metrics: Metrics;
  let transforms: TransformPool | undefined;
  let gateway: Gateway;
  let base: string;
  const lines: Record<string, unknown>[] = [];

  const post = async (query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return { res, body: (await res.json()) as { data?: Record<string, any>; errors?: { message: string; extensions?: Record<string, unknown> }[] } }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const metricsNow = () => scrape(`${base}/metrics`);

  before(async () => {
    const { decls, problems } = readSchemaFiles([{ path: 'observability.graphql', text: SDL }]);
    const built = buildRegistry(decls, [{ name: 'flaky', path: 'flaky.ts', sha256: '', source: FLAKY }], problems);
    assert.ok(built.ok, JSON.stringify(!built.ok && built.problems));
    registry = built.registry;
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
    metrics = createMetrics({ defaults: false });
    transforms = await startTransforms(registry, { ...DEFAULT_POOL_OPTIONS, size: 1, observer: transformMetrics(metrics) });
    const logger = createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    // An hour between readings: every reading in this test is one it asks for.
    const freshness = new FreshnessMonitor(registry, stores.offline, { intervalMs: 3_600_000, now: () => T0, metrics, logger });
    gateway = createGateway({
      registry,
      schema: buildSchema(registry),
      stores,
      limits: { maxEntities: 100, maxPushRows: 100, maxHistoricalRows: 100, entitySqlTimeoutMs: 5000 },
      logger,
      transforms,
      metrics,
      freshness,
    });
    base = (await gateway.listen(0, '127.0.0.1')).replace(/\/graphql$/, '');
  });

  after(async () => {
    await gateway.close();
    await transforms?.close();
    await Promise.all([stores.online.close(), stores.offline.close()]);
  });

  it('counts GraphQL requests by operation, type and outcome, exactly as made', async () => {
    const before = await metricsNow();
    const vector = 'query Vector($e: [JSON!]!) { onlineFeatures(features: ["fresh_stats:n", "plain_stats:n"], entities: $e) { rows } }';
    for (let i = 0; i < 3; i++) assert.equal((await post(vector, { e: [{ user_id: 'u1' }, { user_id: 'u2' }] })).body.errors, undefined);
    // Executed, but its resolver refuses the entity row: an error outcome.
    assert.ok((await post(vector, { e: [{ userid: 'u1' }] })).body.errors);
    // Refused by validation before anything runs: invalid.
    assert.ok((await post('query Typo { onlineFeatures(features: ["fresh_stats:nope"], entities: []) { rows } }')).body.errors);
    // Not even GraphQL.
    assert.ok((await post('query Broken { onlineFeatures(')).body.errors);
    assert.equal((await post('mutation Push($r: [JSON!]!) { pushFeatures(view: "plain_stats", rows: $r) { rows } }', { r: [{ user_id: 'u9', event_timestamp: T0, n: 1 }] })).body.errors, undefined);
    const after = await metricsNow();

    const requests = (operation: string, type: string, outcome: string) => moved(before, after, 'skewless_graphql_requests_total', { operation, type, outcome });
    assert.equal(requests('Vector', 'query', 'ok'), 3);
    assert.equal(requests('Vector', 'query', 'error'), 1);
    assert.equal(requests('Typo', 'query', 'invalid'), 1);
    // Unparsable: no operation is known, only the name a client may send beside the document.
    assert.equal(requests('anonymous', 'unknown', 'invalid'), 1);
    assert.equal(requests('Push', 'mutation', 'ok'), 1);
    assert.equal(moved(before, after, 'skewless_graphql_request_duration_seconds_count', { operation: 'Vector', type: 'query', outcome: 'ok' }), 3);
    const total = [...after.keys()].filter((k) => k.startsWith('skewless_graphql_requests_total{')).reduce((n, k) => n + after.get(k)! - (before.get(k) ?? 0), 0);
    assert.equal(total, 7, 'nothing else counted (the /metrics scrapes are not GraphQL requests)');

    // Each executed vector is one store call over its two (view, entity) pairs per entity row: 4 keys.
    assert.equal(moved(before, after, 'skewless_online_store_round_trips_total', { store: 'memory' }), 3);
    assert.equal(moved(before, after, 'skewless_dataloader_batch_size_count', { loader: 'online' }), 3);
    assert.equal(moved(before, after, 'skewless_dataloader_batch_size_sum', { loader: 'online' }), 12);
  });

  it('counts one store round trip for every view a typed query reads', async () => {
    const before = await metricsNow();
    const { body } = await post('query Typed { user(user_id: "u1") { fresh_stats { n } stale_stats { n } plain_stats { n } } }');
    assert.equal(body.errors, undefined);
    const after = await metricsNow();
    assert.equal(moved(before, after, 'skewless_online_store_round_trips_total', { store: 'memory' }), 1);
    assert.equal(moved(before, after, 'skewless_dataloader_batch_size_sum', { loader: 'online' }), 3);
  });

  it('times and counts transforms, and their failures by transform and code', async () => {
    const before = await metricsNow();
    const { body } = await post('query Scores($r: [JSON!]) { onlineFeatures(features: ["echo:echoed"], entities: [{ user_id: "a" }, { user_id: "b" }, { user_id: "c" }], request: $r) { rows errors { code rows } } }', {
      r: [{ amount: 1 }, { amount: 13 }, { amount: 2 }],
    });
    assert.deepEqual(body.data!.onlineFeatures.errors, [{ code: 'TRANSFORM_FAILED', rows: [1] }]);
    const after = await metricsNow();
    assert.equal(moved(before, after, 'skewless_transform_rows_total', { transform: 'flaky' }), 3);
    assert.equal(moved(before, after, 'skewless_transform_failures_total', { transform: 'flaky', code: 'TRANSFORM_FAILED' }), 1);
    assert.equal(moved(before, after, 'skewless_transform_batch_duration_seconds_count', { transform: 'flaky' }), 1);
  });

  it('times historical retrieval over GraphQL and through the export', async () => {
    const before = await metricsNow();
    const { body } = await post('query Training { historicalFeatures(features: ["plain_stats:n"], entities: [{ user_id: "u9", event_timestamp: "2030-01-01T00:00:00Z" }]) { rows } }');
    assert.equal(body.errors, undefined);
    const exported = await fetch(`${base}/historical/export?format=jsonl&reference=off`, {
      method: 'POST',
      body: JSON.stringify({ features: ['plain_stats:n'], entities: [{ user_id: 'u9', event_timestamp: '2030-01-01T00:00:00Z' }] }),
    });
    assert.equal(exported.status, 200);
    await exported.text();
    const refused = await fetch(`${base}/historical/export?format=xml`, { method: 'POST', body: '{}' });
    assert.equal(refused.status, 400);
    await refused.text();
    const after = await metricsNow();
    assert.equal(moved(before, after, 'skewless_historical_query_duration_seconds_count', { route: 'graphql', outcome: 'ok' }), 1);
    assert.equal(moved(before, after, 'skewless_historical_query_duration_seconds_count', { route: 'export', outcome: 'ok' }), 1);
    assert.equal(moved(before, after, 'skewless_historical_query_duration_seconds_count', { route: 'export', outcome: 'error' }), 1);
  });

  it("returns the caller's request id (cleaned) and marks the request's log lines with it", async () => {
    lines.length = 0;
    const { res } = await post('query Tagged { registry { views { name } } }', undefined, { 'x-request-id': 'checkout-7f3a "quoted"' });
    assert.equal(res.headers.get('x-request-id'), 'checkout-7f3aquoted');
    const tagged = lines.filter((l) => l.requestId === 'checkout-7f3aquoted');
    const done = tagged.find((l) => l.msg === 'graphql.request');
    assert.ok(done, `no graphql.request line for the request among ${JSON.stringify(lines)}`);
    assert.deepEqual([done.operation, done.type, done.outcome], ['Tagged', 'query', 'ok']);
    assert.ok(lines.every((l) => l.requestId === 'checkout-7f3aquoted'), 'every line written while handling it carries its id');
  });

  it('gives a request without an id a new one, and keeps concurrent requests apart', async () => {
    lines.length = 0;
    const [a, b, c] = await Promise.all([
      post('query First { registry { views { name } } }'),
      post('query Second { registry { views { name } } }'),
      post('query Third { registry { views { name } } }', undefined, { 'x-request-id': 'third' }),
    ]);
    const ids = [a, b, c].map((r) => r.res.headers.get('x-request-id')!);
    assert.match(ids[0]!, UUID);
    assert.match(ids[1]!, UUID);
    assert.notEqual(ids[0], ids[1]);
    assert.equal(ids[2], 'third');
    const byOperation = Object.fromEntries(lines.filter((l) => l.msg === 'graphql.request').map((l) => [l.operation, l.requestId]));
    assert.deepEqual(byOperation, { First: ids[0], Second: ids[1], Third: 'third' });
  });

  it('calls a view that declares a freshness but has no value stale', async () => {
    await gateway.freshness.refresh();
    const ready = (await (await fetch(`${base}/readyz`)).json()) as { freshness: { stale: { view: string }[] } };
    assert.deepEqual(ready.freshness.stale.map((s) => s.view).sort(), ['fresh_stats', 'stale_stats']);
  });

  it('flags a view older than its freshness as stale in /readyz, metrics and Query.freshness, and not a fresh one', async () => {
    const push = async (view: string, eventTs: number) => {
      const { body } = await post('mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', { v: view, r: [{ user_id: 'u1', event_timestamp: eventTs, n: 1 }] });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    };
    await push('fresh_stats', T0 - 60_000);
    await push('stale_stats', T0 - 3_600_000);
    await push('stale_stats', T0 - 7_200_000);
    await gateway.freshness.refresh();

    const readyz = await fetch(`${base}/readyz`);
    assert.equal(readyz.status, 200, 'a stale view does not make the gateway unready');
    const ready = (await readyz.json()) as { ready: boolean; freshness: unknown };
    assert.equal(ready.ready, true);
    assert.deepEqual(ready.freshness, { stale: [{ view: 'stale_stats', ageSeconds: 3600, expected: '15m' }], checkedAt: new Date(T0).toISOString(), error: null });

    const m = await metricsNow();
    assert.equal(sample(m, 'skewless_view_stale', { view: 'stale_stats' }), 1);
    assert.equal(sample(m, 'skewless_view_stale', { view: 'fresh_stats' }), 0);
    assert.equal(sample(m, 'skewless_view_stale', { view: 'plain_stats' }), 0);
    assert.equal(sample(m, 'skewless_view_freshness_age_seconds', { view: 'stale_stats' }), 3600);
    assert.equal(sample(m, 'skewless_view_freshness_age_seconds', { view: 'fresh_stats' }), 60);
    assert.equal(sample(m, 'skewless_view_expected_freshness_seconds', { view: 'fresh_stats' }), 900);
    assert.ok(!m.has('skewless_view_expected_freshness_seconds{view="plain_stats"}'), 'no freshness declared, no sample');
    assert.ok(!m.has('skewless_view_stale{view="echo"}'), 'on-demand views have no freshness');
    assert.equal(sample(m, 'skewless_freshness_checked_timestamp_seconds'), T0 / 1000);

    const { body } = await post('{ freshness { asOf checkedAt error views { view kind newestEventTime ageSeconds expectedFreshness expectedSeconds stale topic lag } } stale: freshness(staleOnly: true) { views { view } } }');
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const report = body.data!.freshness;
    assert.equal(report.asOf, new Date(T0).toISOString());
    assert.equal(report.error, null);
    const byView: Record<string, { stale: boolean }> = Object.fromEntries((report.views as { view: string; stale: boolean }[]).map((v) => [v.view, v]));
    assert.deepEqual(byView.fresh_stats, { view: 'fresh_stats', kind: 'row', newestEventTime: new Date(T0 - 60_000).toISOString(), ageSeconds: 60, expectedFreshness: '15m', expectedSeconds: 900, stale: false, topic: null, lag: null });
    assert.deepEqual(byView.stale_stats, { view: 'stale_stats', kind: 'row', newestEventTime: new Date(T0 - 3_600_000).toISOString(), ageSeconds: 3600, expectedFreshness: '15m', expectedSeconds: 900, stale: true, topic: null, lag: null });
    assert.equal(byView.plain_stats?.stale, false, 'no freshness declared: never stale');
    assert.deepEqual(body.data!.stale.views, [{ view: 'stale_stats' }]);

    const unknown = await post('{ freshness(views: ["stale_stat"]) { views { view } } }');
    assert.equal(unknown.body.errors?.[0]?.extensions?.code, 'UNKNOWN_VIEW');
    assert.match(unknown.body.errors![0]!.message, /did you mean "stale_stats"/);
  });

  it('answers /metrics in the Prometheus text format', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^# HELP skewless_graphql_requests_total /m);
    assert.match(text, /^# TYPE skewless_graphql_request_duration_seconds histogram$/m);
    assert.ok(parseExposition(text).size > 0);
  });
});
