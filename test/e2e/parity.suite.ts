/**
 * Continuous parity end to end, on given stores: rows pushed and events committed through the
 * materializer's own commit, online reads through the served schema (onlineFeatures and the typed fields)
 * sampled at rate 1, then the reconciler replaying every sample through the historical path at its T.
 * A healthy system agrees on every feature of row, aggregation and on-demand views; a value overwritten in
 * the online store is a MISMATCH naming the view, feature and entity with both values; a row the online
 * store never got is MISSING_ONLINE; a row that reached the offline store after T is no mismatch.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphql } from 'graphql';
import { onlineKey } from '../../src/features/keys.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { checkRows, pushRows } from '../../src/ingest/push.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Metrics } from '../../src/ops/metrics.ts';
import type { OutcomeCounts } from '../../src/ops/parity/judge.ts';
import { reconcileParity } from '../../src/ops/parity/reconcile.ts';
import { parityReport } from '../../src/ops/parity/report.ts';
import { ParitySampler } from '../../src/ops/parity/sampler.ts';
import { ensureParityTables } from '../../src/ops/parity/tables.ts';
import { loadRegistry } from '../../src/registry/load.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { RowView } from '../../src/registry/types.ts';
import { createServingContext } from '../../src/serving/context.ts';
import { encodeRecord } from '../../src/stores/online-encoding.ts';
import type { Stores } from '../../src/stores/open.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import type { TransformPool } from '../../src/transforms/pool.ts';
import { startTransforms } from '../../src/transforms/start.ts';
import { uniqueName } from '../helpers/services.ts';
import { commitEvents } from './aggregation-online.suite.ts';
import type { AggEvent } from './aggregation-online.suite.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const SETTLE = MIN;
const LIMITS = { maxEntities: 1000, maxPushRows: 10_000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000 };
const iso = (ms: number) => new Date(ms).toISOString();

/** A repository with a row view, an aggregation view and an on-demand view reading both. */
async function writeRepo(id: string): Promise<{ dir: string; profile: string; spend: string; risk: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'skewless-parity-'));
  await mkdir(path.join(dir, 'schema'));
  await mkdir(path.join(dir, 'transforms'));
  const [profile, spend, risk] = [`${id}_profile`, `${id}_spend`, `${id}_risk`];
  await writeFile(
    path.join(dir, 'schema', 'parity.graphql'),
    `type User @entity(key: ["user_id"]) { user_id: ID! }
     type Src${id} @source(topic: "${id}_events", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
     type Profile${id} @featureView(entity: "User", ttl: "1d", name: "${profile}") { score: Float tier: String since: DateTime }
     type Spend${id} @featureView(entity: "User", source: "Src${id}", name: "${spend}") {
       n1h: Int! @aggregate(fn: COUNT, window: "1h")
       s1h: Float! @aggregate(fn: SUM, of: "amount", window: "1h")
       max1d: Float @aggregate(fn: MAX, of: "amount", window: "1d")
       last1d: DateTime @aggregate(fn: LAST, of: "at", window: "1d")
     }
     input Req${id} { amount: Float! }
     type Risk${id} @onDemand(transform: "risk", inputs: ["${profile}", "${spend}"], request: "Req${id}", name: "${risk}") { ratio: Float flagged: Boolean! }`,
  );
  await writeFile(
    path.join(dir, 'transforms', 'risk.ts'),
    `export default function risk(row: { request: { amount: number }; ${profile}: { score: number | null }; ${spend}: { s1h: number } }): { ratio: number | null; flagged: boolean } {
       const total = row.${spend}.s1h;
       return { ratio: total === 0 ? null : row.request.amount / total, flagged: row.${profile}.score !== null && row.${profile}.score > 0.5 };
     }\n`,
  );
  return { dir, profile, spend, risk };
}

export function paritySuite(name: string, openStores: () => Promise<Stores>): void {
  describe(`continuous parity: ${name}`, () => {
    const id = uniqueName('par');
    const user = (u: string) => `${id}-${u}`;
    let repo: Awaited<ReturnType<typeof writeRepo>>;
    let registry: Registry;
    let stores: Stores;
    let transforms: TransformPool | undefined;
    let metrics: Metrics;
    let sampler: ParitySampler;
    // Whole minutes, so T never falls on a tile or window edge by accident of the clock.
    const T = Math.floor(Date.now() / MIN) * MIN - 30 * MIN + 17 * SEC;

    /** Runs a query through the served schema in a request context at `asOf`, sampled. */
    const query = async (asOf: number, source: string, variableValues: Record<string, unknown> = {}) => {
      const result = await graphql({ schema: buildSchema(registry), source, variableValues, contextValue: createServingContext({ registry, stores, limits: LIMITS, transforms, now: () => asOf, parity: sampler }) });
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      return result.data as Record<string, unknown>;
    };
    const online = (asOf: number, features: string[], users: string[], amount?: number) =>
      query(asOf, 'query ($f: [String!], $e: [JSON!]!, $r: [JSON!]) { onlineFeatures(features: $f, entities: $e, request: $r) { columns rows errors { code } } }', {
        f: features,
        e: users.map((u) => ({ user_id: u })),
        r: amount === undefined ? null : [{ amount }],
      });
    /** Writes what was sampled, then judges what has settled by `now`. */
    const reconcile = async (since: number, now: number) => {
      await sampler.flush();
      return reconcileParity({ registry, stores, transforms, metrics }, { now, settleMs: SETTLE, since });
    };
    const push = (view: string, rows: Record<string, unknown>[], arrivalMs: number) => pushRows(registry, stores, view, rows, { arrivalMs, maxRows: 1000 });
    const sum = (counts: OutcomeCounts) => Object.values(counts).reduce((a, b) => a + b, 0);

    before(async () => {
      repo = await writeRepo(id);
      const loaded = await loadRegistry({ schemaDir: path.join(repo.dir, 'schema'), transformsDir: path.join(repo.dir, 'transforms') });
      assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
      registry = loaded.registry;
      stores = await openStores();
      await stores.offline.ensureSchema(registry);
      await ensureParityTables(stores.offline);
      transforms = await startTransforms(registry);
      metrics = createMetrics({ defaults: false });
      sampler = new ParitySampler({ registry, offline: stores.offline, rate: 1, bufferSize: 10_000, metrics });

      // Events over the last two days for a..d, on time, committed before T as the consumer commits them.
      const events: AggEvent[] = [];
      ['a', 'b', 'c', 'd'].forEach((u, k) => {
        for (let i = 0; i < 12; i++) {
          const at = T - 2 * 24 * 60 * MIN + (i + 1) * 4 * 60 * MIN - (k + 1) * 7 * MIN - i * 1234;
          events.push({ user: user(u), eventTs: at, messageTs: at + 2 * SEC, fields: { user_id: user(u), amount: 10.25 * (i + 1) + k / 3, at } });
        }
      });
      events.sort((x, y) => x.messageTs - y.messageTs);
      await commitEvents(registry, stores, `${id}_events`, events, 0, T - 10 * SEC);
      await push(
        repo.profile,
        ['a', 'b', 'c'].map((u, k) => ({ user_id: user(u), event_timestamp: T - (k + 1) * 60 * MIN, score: 0.25 * (k + 1) + 0.1, tier: `tier-${k}`, since: T - (k + 1) * 24 * 60 * MIN })),
        T - 5 * MIN,
      );
      // d's profile reaches history but never the online store.
      const view = registry.view(repo.profile) as RowView;
      await stores.offline.appendHistory(view, checkRows(registry, view, [{ user_id: user('d'), event_timestamp: T - 2 * MIN, score: 0.5, tier: 'tier-d', since: T - MIN }], { arrivalMs: T - 2 * MIN }));
    });
    after(async () => {
      await sampler.close();
      await stores.offline.query('delete from skewless.parity_samples where view like $1', [`${id}%`]);
      await transforms?.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
      await rm(repo.dir, { recursive: true, force: true });
    });

    it('reports every feature of row, aggregation and on-demand views as MATCH on a healthy system, through both online fields', async () => {
      const framed = await online(T, [repo.profile, repo.spend, repo.risk], [user('a'), user('e')], 10);
      assert.deepEqual((framed.onlineFeatures as { errors: unknown[] }).errors, []);
      const { profile, spend, risk } = repo;
      await query(
        T,
        `query ($ids: [ID!]!, $b: ID!) {
          users(user_id: $ids) { ${profile} { score tier since } ${spend} { n1h s1h max1d last1d } }
          user(user_id: $b) { ${risk}(request: { amount: 25 }) { ratio flagged } }
        }`,
        { ids: [user('a'), user('b'), user('e')], b: user('b') },
      );
      const summary = await reconcile(T, T + SETTLE);
      // onlineFeatures: 2 users × (2 stored views + 1 on-demand row); typed fields: 3 users × 2 stored
      // views + b's on-demand row (its inputs were read once, with the rest).
      assert.equal(summary.samples, 2 * 3 + 3 * 2 + 1);
      assert.deepEqual(summary.totals, { MATCH: 2 * (3 + 4 + 2) + 3 * (3 + 4) + 2, MISMATCH: 0, MISSING_ONLINE: 0, MISSING_OFFLINE: 0, SKIPPED: 0 });
      const matched = new Map(summary.features.map((f) => [`${f.view}:${f.feature}`, f.counts.MATCH]));
      for (const f of registry.view(profile)!.features) assert.equal(matched.get(f.ref), 5, f.ref);
      for (const f of registry.view(spend)!.features) assert.equal(matched.get(f.ref), 5, f.ref);
      for (const f of registry.view(risk)!.features) assert.equal(matched.get(f.ref), 3, f.ref);
      // b's risk was computed only by the typed field: its sample carries b's key, read from the loader's row.
      const typed = await stores.offline.query<{ n: number }>(`select count(*)::int as n from skewless.parity_results where view = $1 and keys->>'user_id' = $2 and outcome = 'MATCH'`, [risk, user('b')]);
      assert.deepEqual(typed, [{ n: 2 }]);
      const outcomes = (await metrics.registry.getSingleMetric('skewless_parity_outcomes_total')!.get()).values;
      assert.equal(outcomes.filter((v) => v.labels.outcome === 'MATCH').reduce((a, v) => a + v.value, 0), summary.totals.MATCH);
      const written = (await metrics.registry.getSingleMetric('skewless_parity_samples_written_total')!.get()).values[0]!.value;
      assert.equal(written, summary.samples);
    });

    it('names a value corrupted in the online store as a MISMATCH with both values, and a row never written online as MISSING_ONLINE', async () => {
      const T2 = T + 10 * SEC;
      const c = user('c');
      const [row] = await stores.offline.query<{ event_timestamp: Date; created_timestamp: Date; tier: string; since: Date; score: number }>(
        `select event_timestamp, created_timestamp, tier, since, score from skewless."history_${repo.profile}" where user_id = $1`,
        [c],
      );
      assert.equal(row!.score, 0.85);
      const corrupt = { eventTs: row!.event_timestamp.getTime(), createdTs: row!.created_timestamp.getTime(), values: { score: 0.95, tier: row!.tier, since: row!.since.getTime() } };
      if (stores.online instanceof RedisOnlineStore) await stores.online.client.set(onlineKey('User', c, repo.profile), encodeRecord(corrupt));
      else await stores.online.writeIfNewer([{ view: repo.profile, entity: 'User', entityKey: c, ...corrupt }]);

      await online(T2, [repo.profile, repo.spend], [c, user('d')]);
      const summary = await reconcile(T2, T2 + SETTLE);
      assert.equal(summary.samples, 4);
      assert.deepEqual(summary.totals, { MATCH: 2 + 4 + 4, MISMATCH: 1, MISSING_ONLINE: 3, MISSING_OFFLINE: 0, SKIPPED: 0 });
      const byFeature = Object.fromEntries(summary.features.map((f) => [`${f.view}:${f.feature}`, f.counts]));
      assert.equal(byFeature[`${repo.profile}:score`]!.MISMATCH, 1);
      assert.equal(byFeature[`${repo.profile}:score`]!.MISSING_ONLINE, 1);
      assert.equal(byFeature[`${repo.profile}:tier`]!.MISSING_ONLINE, 1);

      const report = await parityReport(stores.offline, { since: T2 });
      assert.deepEqual(report.totals, summary.totals);
      assert.equal(report.pending, 0);
      assert.deepEqual(
        report.mismatches.map((m) => ({ view: m.view, feature: m.feature, keys: m.keys, asOf: m.asOf, online: m.onlineValue, offline: m.offlineValue })),
        [{ view: repo.profile, feature: 'score', keys: { user_id: c }, asOf: T2, online: 0.95, offline: 0.85 }],
      );
      const missing = await stores.offline.query<{ feature: string; online_status: string; offline_status: string }>(
        `select feature, online_status, offline_status from skewless.parity_results where outcome = 'MISSING_ONLINE' and keys->>'user_id' = $1 order by feature`,
        [user('d')],
      );
      assert.deepEqual(missing, ['score', 'since', 'tier'].map((feature) => ({ feature, online_status: 'NOT_FOUND', offline_status: 'PRESENT' })));
      const mismatches = (await metrics.registry.getSingleMetric('skewless_parity_outcomes_total')!.get()).values.filter((v) => v.labels.outcome === 'MISMATCH');
      assert.deepEqual(mismatches.map((v) => [v.labels.view, v.labels.feature, v.value]), [[repo.profile, 'score', 1]]);

      // The same report over GraphQL.
      const data = await query(T2, `query ($since: DateTime) { parityReport(since: $since) { since pending totals { match mismatch missingOnline missingOffline skipped } features { ref counts { mismatch } } mismatches { view feature keys asOf onlineValue offlineValue } } }`, { since: iso(T2) });
      // As a client reads it: plain JSON.
      const gql = JSON.parse(JSON.stringify(data.parityReport)) as Record<string, unknown>;
      assert.deepEqual(gql.totals, { match: 10, mismatch: 1, missingOnline: 3, missingOffline: 0, skipped: 0 });
      assert.deepEqual(gql.mismatches, [{ view: repo.profile, feature: 'score', keys: { user_id: c }, asOf: iso(T2), onlineValue: 0.95, offlineValue: 0.85 }]);
      assert.equal(gql.since, iso(T2));
    });

    it('judges a sample only once it has settled', async () => {
      const T3 = T + 20 * SEC;
      await online(T3, [repo.profile], [user('a')]);
      const early = await reconcile(T3, T3 + SETTLE - 1);
      assert.equal(early.samples, 0);
      assert.equal((await parityReport(stores.offline, { since: T3 })).pending, 1);
      const settled = await reconcile(T3, T3 + SETTLE);
      assert.equal(settled.samples, 1);
      assert.equal(settled.totals.MATCH, 3);
      assert.equal((await parityReport(stores.offline, { since: T3 })).pending, 0);
    });

    it('holds no row against the online answer that reached the offline store after T (as known at T)', async () => {
      const T4 = T + 30 * SEC;
      const f = user('f');
      await push(repo.profile, [{ user_id: f, event_timestamp: T4 - 10 * MIN, score: 0.125, tier: 'old', since: T4 - MIN }], T4 - 9 * MIN);
      await online(T4, [repo.profile], [f]);
      // Dated before T4, written after it: the online store could not have served it at T4.
      await push(repo.profile, [{ user_id: f, event_timestamp: T4 - MIN, score: 0.875, tier: 'new', since: T4 - MIN }], T4 + 5 * SEC);
      const summary = await reconcile(T4, T4 + SETTLE);
      assert.equal(summary.samples, 1);
      assert.deepEqual(summary.totals, { MATCH: 3, MISMATCH: 0, MISSING_ONLINE: 0, MISSING_OFFLINE: 0, SKIPPED: 0 });
      assert.equal(sum(summary.totals), 3);
    });
  });
}
