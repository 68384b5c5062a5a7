/**
 * Aggregation views in historicalFeatures and the training-set export, on PostgreSQL and on embedded
 * PGlite: events go in exactly as the Kafka consumer puts them (decodeMessage, commitBatch, in shuffled
 * batches so late events merge into stored tiles), and every value at every T must equal `valueAt` over
 * the raw events alone, bit for bit (Object.is) — tile boundaries, T before any event, T long after (decay),
 * every function over two windows and hops, a composite-key entity, entitySql rows, the export, and an
 * on-demand view reading an aggregation view.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { valueAt } from '../../src/features/aggregate/finalize.ts';
import type { SourceEvent } from '../../src/features/aggregate/finalize.ts';
import { commitBatch } from '../../src/materializer/commit.ts';
import { decodeMessage, topicRoutes } from '../../src/materializer/decode.ts';
import type { Decoded, RawMessage } from '../../src/materializer/decode.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { AggregationView, Feature } from '../../src/registry/types.ts';
import { offlineAggregationRows } from '../../src/serving/aggregation-offline.ts';
import { createServingContext } from '../../src/serving/context.ts';
import { servedValue } from '../../src/serving/frame.ts';
import { planExport } from '../../src/serving/historical-export.ts';
import { historicalFrame } from '../../src/serving/historical-frame.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import type { OfflineStore } from '../../src/stores/types.ts';
import { SkewlessError } from '../../src/errors.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { eachMember, parseOnlineEvent } from '../../src/stores/online-pieces.ts';
import { headsTable } from '../../src/stores/sql/heads-tables.ts';
import { eventsTable } from '../../src/stores/sql/materializer-tables.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { EXAMPLE_DIRS } from '../helpers/paths.ts';
import { random } from '../helpers/random.ts';
import { loadFixtureRegistry, registryFromSdl } from '../helpers/repos.ts';
import { realStores } from '../helpers/services.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);
/** Accept any event time: these tests date events freely relative to their messages. */
const BOUNDS = { allowedLatenessMs: 365 * DAY, maxFutureSkewMs: 365 * DAY };

const HISTORICAL = `query ($f: [String!], $e: [JSON!], $s: String) {
  historicalFeatures(features: $f, entities: $e, entitySql: $s) { columns rows statuses eventTimestamps }
}`;
type Frame = { columns: string[]; rows: unknown[][]; statuses: (string | null)[][]; eventTimestamps: (string | null)[][] };

/** The twelve functions over one window and hop. */
function allFunctions(window: string, hop: string): string {
  const w = `window: "${window}", hop: "${hop}"`;
  return `
    n: Int! @aggregate(fn: COUNT, ${w})
    total: Float! @aggregate(fn: SUM, of: "amount", ${w})
    units: Int! @aggregate(fn: SUM, of: "qty", ${w})
    mean: Float @aggregate(fn: AVG, of: "amount", ${w})
    lo: Float @aggregate(fn: MIN, of: "amount", ${w})
    hi: Int @aggregate(fn: MAX, of: "qty", ${w})
    sd: Float @aggregate(fn: STDDEV, of: "amount", ${w})
    var: Float @aggregate(fn: VARIANCE, of: "amount", ${w})
    first_country: String @aggregate(fn: FIRST, of: "country", ${w})
    last_at: DateTime @aggregate(fn: LAST, of: "at", ${w})
    merchants: Int! @aggregate(fn: COUNT_DISTINCT, of: "merchant_id", ${w})
    approx_merchants: Int! @aggregate(fn: APPROX_COUNT_DISTINCT, of: "merchant_id", ${w})
    p90: Float @aggregate(fn: APPROX_PERCENTILE, of: "amount", ${w}, percentile: 0.9)`;
}

/**
 * Messages as the consumer sees them, decoded, committed in batches; returns the accepted events. Offsets
 * start at `firstOffset`: a topic shared with other runs on the same database (the example's) needs its
 * own, or the archive takes the messages for copies of those runs' and folds none of them.
 */
async function commitEvents(registry: Registry, stores: Stores, group: string, topic: string, bodies: readonly Record<string, unknown>[], batches: number, firstOffset = 0): Promise<SourceEvent[]> {
  const route = topicRoutes(registry).get(topic)!;
  const messages: RawMessage[] = bodies.map((body, i) => ({ topic, partition: 0, offset: firstOffset + i, value: JSON.stringify(body), timestampMs: Date.parse(String(body.at ?? body.event_time)) }));
  const decoded: Decoded[] = messages.map((m) => decodeMessage(registry, route, m));
  const accepted: SourceEvent[] = [];
  for (const d of decoded) {
    if (d.kind !== 'event') assert.fail(`message refused: ${JSON.stringify(d)}`);
    accepted.push({ time: d.event.eventTs, row: d.event.fields });
  }
  const size = Math.ceil(messages.length / batches);
  for (let start = 0; start < messages.length; start += size) {
    await commitBatch(registry, stores, group, messages.slice(start, start + size), decoded.slice(start, start + size), BOUNDS);
  }
  // A redelivery of the first batch is recognised as committed and counts nothing twice.
  const again = await commitBatch(registry, stores, group, messages.slice(0, size), decoded.slice(0, size), BOUNDS);
  assert.equal(again.skipped, Math.min(size, messages.length));
  return accepted;
}

/** The oracle: valueAt over the raw events alone, no tiles. */
function oracle(feature: Feature, events: readonly SourceEvent[], asOf: number): unknown {
  return valueAt(feature, [], events, asOf);
}

function suite(name: string, openStores: () => Promise<Stores>): void {
  describe(`historical aggregation views: ${name}`, () => {
    const id = randomUUID().replaceAll('-', '').slice(0, 10);
    const topic = `hagg_${id}`;
    const source = `HaggTxn${id}`;
    const p = `hagg_${id}`;
    const users = Array.from({ length: 6 }, (_, i) => `${id}-u${i}`);
    const merchants = Array.from({ length: 5 }, (_, i) => `${id}-m${i}`);
    let registry: Registry;
    let stores: Stores;
    let gateway: TestGateway;
    let events: SourceEvent[];
    /** Entity rows: every user (one with no events) at T on tile boundaries, at event times, before, after, at random. */
    const rows: { user_id: string; merchant_id: string; event_timestamp: string; t: number }[] = [];
    const views = (): AggregationView[] => [`${p}_short`, `${p}_long`, `${p}_pair`].map((v) => registry.view(v) as AggregationView);
    const eventsOf = (user: string, merchant?: string) => events.filter((e) => e.row.user_id === user && (merchant === undefined || e.row.merchant_id === merchant));
    const historical = async (variables: Record<string, unknown>): Promise<Frame> => {
      const { body } = await postGraphQL(gateway.base, HISTORICAL, variables);
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      return body.data!.historicalFeatures as Frame;
    };
    const exportJsonl = async (args: Record<string, unknown>): Promise<Record<string, unknown>[]> => {
      const res = await fetch(`${gateway.base}/historical/export?format=jsonl`, { method: 'POST', body: JSON.stringify(args) });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.text()).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    };

    before(async () => {
      registry = await registryFromSdl(`
        type HaggUser @entity(key: ["user_id"]) { user_id: ID! }
        type HaggPair @entity(key: ["user_id", "merchant_id"]) { user_id: ID! merchant_id: ID! }
        type ${source} @source(topic: "${topic}", timestamp: "at") { user_id: ID! merchant_id: ID! amount: Float! qty: Int country: String at: DateTime! }
        type Short @featureView(entity: "HaggUser", source: "${source}", name: "${p}_short") { ${allFunctions('1h', '5m')} }
        type Long @featureView(entity: "HaggUser", source: "${source}", name: "${p}_long") { ${allFunctions('1d', '1h')} }
        type Pair @featureView(entity: "HaggPair", source: "${source}", name: "${p}_pair") {
          n: Int! @aggregate(fn: COUNT, window: "2h", hop: "10m")
          total: Float! @aggregate(fn: SUM, of: "amount", window: "30m", hop: "1m")
        }
        type Stats @featureView(entity: "HaggUser", name: "${p}_stats") { score: Float }
      `);
      stores = await openStores();
      gateway = await startTestGateway(registry, stores);

      const rng = random(20260301);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
      const bodies: Record<string, unknown>[] = [];
      // users[5] has no events at all.
      users.slice(0, 5).forEach((user, u) => {
        for (let i = 0; i < 60 + u * 30; i++) {
          // Bursts and quiet stretches over two days; some events exactly on a 5-minute tile boundary.
          const at = i % 9 === 0 ? T0 + Math.floor(rng() * 576) * 5 * MIN : T0 + Math.floor(rng() * 12) * 4 * HOUR + Math.floor(rng() * 90 * MIN);
          bodies.push({
            user_id: user,
            merchant_id: pick(merchants),
            amount: Math.round((rng() * 600 - 60) * 100) / 100,
            qty: rng() < 0.2 ? null : Math.floor(rng() * 20),
            country: rng() < 0.15 ? null : pick(['FR', 'DE', 'US', 'BR']),
            at: new Date(at).toISOString(),
          });
        }
      });
      // Shuffled: later batches carry events older than tiles already stored (late events merge in).
      for (let i = bodies.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [bodies[i], bodies[j]] = [bodies[j]!, bodies[i]!];
      }
      events = await commitEvents(registry, stores, `${p}_group`, topic, bodies, 3);

      for (const user of users) {
        const times = new Set<number>([T0 - DAY, T0, T0 + 30 * DAY]);
        for (let k = 0; k < 12; k++) times.add(T0 + Math.floor(rng() * 576) * 5 * MIN); // 5-minute boundaries
        for (let k = 0; k < 8; k++) times.add(T0 + Math.floor(rng() * 60) * HOUR); // 1-hour boundaries
        for (const e of eventsOf(user).slice(0, 12)) {
          times.add(e.time); // an event exactly at T is not yet in
          times.add(e.time + 1);
        }
        for (let k = 0; k < 120; k++) times.add(T0 - 3 * HOUR + Math.floor(rng() * 3 * DAY));
        for (const t of times) rows.push({ user_id: user, merchant_id: pick(merchants), event_timestamp: new Date(t).toISOString(), t });
      }
      // Input order must not matter: shuffle the rows.
      for (let i = rows.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [rows[i], rows[j]] = [rows[j]!, rows[i]!];
      }
    });

    after(async () => {
      await gateway.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
    });

    /** Every feature of every view at every row's T, from the offline store, against valueAt over the raw events. */
    const checkAll = async (): Promise<number> => {
      let checked = 0;
      for (const view of views()) {
        const keyed = rows.map((r) => ({ keys: { user_id: r.user_id, merchant_id: r.merchant_id }, asOf: r.t }));
        const got = await offlineAggregationRows(registry, stores.offline, view, keyed);
        rows.forEach((r, i) => {
          const raw = view.entity === 'HaggPair' ? eventsOf(r.user_id, r.merchant_id) : eventsOf(r.user_id);
          for (const feature of view.features) {
            const want = oracle(feature, raw, r.t);
            assert.ok(Object.is(got[i]![feature.name], want), `${feature.ref} for ${r.user_id}/${r.merchant_id} at ${r.event_timestamp}: got ${String(got[i]![feature.name])}, want ${String(want)}`);
            checked++;
          }
        });
      }
      return checked;
    };

    it('computes every function at every T exactly as valueAt over the raw events', async () => {
      const checked = await checkAll();
      assert.ok(checked > 25_000, `${checked} values checked`);
      // The rows cover what matters: decayed to zero, no events yet, and values that are not.
      const short = registry.view(`${p}_short`) as AggregationView;
      const n = short.features.find((f) => f.name === 'n')!;
      const counts = rows.map((r) => oracle(n, eventsOf(r.user_id), r.t) as number);
      assert.ok(counts.filter((c) => c === 0).length > 100 && counts.filter((c) => c > 3).length > 100);
    });

    it('serves them in historicalFeatures as PRESENT values without an event time, the empty window included', async () => {
      const refs = views().filter((v) => v.entity === 'HaggUser').flatMap((v) => v.features.map((f) => f.ref));
      refs.push(`${p}_pair:n`, `${p}_pair:total`);
      const frame = await historical({ f: refs, e: rows.map(({ t: _, ...r }) => r) });
      assert.deepEqual(frame.columns, ['user_id', 'merchant_id', 'event_timestamp', ...refs]);
      rows.forEach((r, i) => {
        refs.forEach((ref, c) => {
          const { view, feature } = registry.feature(ref)!;
          const raw = (view as AggregationView).entity === 'HaggPair' ? eventsOf(r.user_id, r.merchant_id) : eventsOf(r.user_id);
          const want = servedValue(feature, oracle(feature, raw, r.t));
          assert.ok(Object.is(frame.rows[i]![3 + c], want), `${ref} at ${r.event_timestamp}: got ${String(frame.rows[i]![3 + c])}, want ${String(want)}`);
          assert.equal(frame.statuses[i]![3 + c], 'PRESENT');
          assert.equal(frame.eventTimestamps[i]![3 + c], null);
        });
      });
      // A user with no events at all: COUNT and SUM 0, the rest null, and still PRESENT.
      const none = rows.findIndex((r) => r.user_id === users[5]);
      const at = (ref: string) => frame.rows[none]![3 + refs.indexOf(ref)];
      assert.deepEqual([at(`${p}_short:n`), at(`${p}_short:total`), at(`${p}_long:merchants`), at(`${p}_long:mean`), at(`${p}_long:last_at`), at(`${p}_short:p90`)], [0, 0, 0, null, null, null]);
    });

    it('exports the same rows as historicalFeatures, with a row view joined, however the rows are batched', async () => {
      const push = await postGraphQL(gateway.base, 'mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', {
        v: `${p}_stats`,
        r: users.map((user, u) => ({ user_id: user, event_timestamp: T0 + u * HOUR, score: u / 4 })),
      });
      assert.equal(push.body.errors, undefined, JSON.stringify(push.body.errors));
      const features = [`${p}_stats:score`, `${p}_short:n`, `${p}_short:p90`, `${p}_long:mean`, `${p}_long:last_at`, `${p}_pair:total`];
      // More rows than one batch of the join (5,000).
      const entities = [...rows, ...rows, ...rows, ...rows, ...rows].map(({ t: _, ...r }, i) => ({ ...r, i }));
      const frame = await historical({ f: features, e: entities });
      const exported = await exportJsonl({ features, entities });
      assert.equal(exported.length, entities.length);
      exported.forEach((row, i) => {
        assert.deepEqual(Object.keys(row), frame.columns, 'columns');
        frame.columns.forEach((c, k) => assert.ok(Object.is(row[c], frame.rows[i]![k]), `row ${i} ${c}: ${String(row[c])} ≠ ${String(frame.rows[i]![k])}`));
      });
      assert.ok(frame.rows.some((r) => r[4] !== null), 'the row view was joined');
      // Aggregations read in several gathered batches, not aligned with the join's: the same rows.
      const lines: string[] = [];
      const ctx = createServingContext({ registry, stores, limits: { maxEntities: 1000, maxPushRows: 1000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000 } });
      const count = await planExport(ctx, { features, entities }, 'jsonl', { aggregationBatchRows: 1234 })({ start: () => {}, write: async (chunk) => void lines.push(String(chunk)) });
      assert.equal(count, entities.length);
      assert.ok(lines.length >= Math.ceil(entities.length / 1234), `${lines.length} writes`);
      const gathered = lines.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      gathered.forEach((row, i) => frame.columns.forEach((c, k) => assert.ok(Object.is(row[c], frame.rows[i]![k]), `gathered row ${i} ${c}`)));
      // Aggregation views only, nothing to join.
      const only = [`${p}_long:n`, `${p}_long:approx_merchants`];
      const exportedOnly = await exportJsonl({ features: only, entities });
      const frameOnly = await historical({ f: only, e: entities });
      assert.deepEqual(exportedOnly.map((r) => only.map((f) => r[f])), frameOnly.rows.map((r) => r.slice(4)));
    });

    it('takes entity rows from entitySql, with the same values as inline rows; a row without a key is NOT_FOUND', async () => {
      const table = `public.hagg_labels_${id}`;
      await stores.offline.query(`create table ${table} (user_id text, merchant_id text, event_timestamp timestamptz, label integer, seq integer)`);
      const some = rows.slice(0, 300);
      await stores.offline.query(`insert into ${table} select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::int[])`, [
        [...some.map((r) => r.user_id), null],
        [...some.map((r) => r.merchant_id), merchants[0]],
        [...some.map((r) => r.event_timestamp), new Date(T0 + HOUR).toISOString()],
        [...some.map((_, i) => i % 2), 1],
        [...some.map((_, i) => i), some.length],
      ]);
      const features = [`${p}_short:n`, `${p}_short:sd`, `${p}_long:first_country`, `${p}_pair:n`];
      const sql = `select user_id, merchant_id, event_timestamp, label, seq from ${table} order by seq`;
      const viaSql = await historical({ f: features, s: sql });
      const inline = await historical({ f: features, e: some.map(({ t: _, ...r }) => r) });
      assert.equal(viaSql.rows.length, some.length + 1);
      assert.deepEqual(viaSql.rows.slice(0, -1).map((r) => r.slice(5)), inline.rows.map((r) => r.slice(3)));
      assert.deepEqual(viaSql.rows.at(-1)!.slice(5), [null, null, null, null], 'no user_id: no entity');
      assert.deepEqual(viaSql.statuses.at(-1)!.slice(5), ['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
      const exported = await exportJsonl({ features, entitySql: sql });
      assert.deepEqual(exported.map((r) => features.map((f) => r[f])), viaSql.rows.map((r) => r.slice(5)));
    });

    it('fails the query when the store fails a read, never blaming the caller\'s entitySql', async () => {
      const offline = stores.offline;
      const failing: OfflineStore = {
        kind: offline.kind,
        ensureSchema: (r) => offline.ensureSchema(r),
        appendHistory: (v, r) => offline.appendHistory(v, r),
        asOfJoin: (plan, e) => offline.asOfJoin(plan, e),
        asOfJoinEach: (plan, e, n, on) => offline.asOfJoinEach(plan, e, n, on),
        transaction: (fn) => offline.transaction(fn),
        ping: () => offline.ping(),
        close: async () => {},
        // As if the tiles table were gone: a database error with a SQLSTATE a bad entitySql also raises.
        query: (sql, params) => (sql.includes('tiles_') ? Promise.reject(Object.assign(new Error('relation does not exist'), { code: '42P01' })) : offline.query(sql, params)),
      };
      const ctx = createServingContext({ registry, stores: { online: stores.online, offline: failing }, limits: { maxEntities: 1000, maxPushRows: 1000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000 } });
      const features = [`${p}_stats:score`, `${p}_short:n`];
      const table = `public.hagg_fail_${id}`;
      await offline.query(`create table ${table} as select $1::text as user_id, now() as event_timestamp`, [users[0]]);
      for (const args of [{ features, entities: [{ user_id: users[0], event_timestamp: T0 }] }, { features, entitySql: `select * from ${table}` }]) {
        await assert.rejects(historicalFrame(ctx, args), (e: Error) => !(e instanceof SkewlessError) && /reading aggregation views failed: relation does not exist/.test(e.message));
        const run = planExport(ctx, args, 'csv');
        await assert.rejects(run({ start: () => {}, write: async () => {} }), (e: Error) => !(e instanceof SkewlessError) && /reading aggregation views failed/.test(e.message));
      }
    });

    it('upgrades an archive indexed per view: fills each view\'s heads from it with the events the commits wrote, drops the index, and reads the same values', async () => {
      const offline = stores.offline;
      /** A view's heads as (entity, bucket, event, inputs), one line per event, sorted: what a reader makes of them. */
      const heads = async (view: AggregationView): Promise<string[]> => {
        const found = await offline.query<{ entity_key: string; bucket_start: number; events: string }>(`select entity_key, bucket_start::float8 as bucket_start, events from ${headsTable(view.name)}`);
        const lines: string[] = [];
        for (const row of found) {
          eachMember(row.events, (member) => {
            const inputs = JSON.parse(parseOnlineEvent(member)!.json) as Record<string, unknown>;
            lines.push(`${row.entity_key} ${row.bucket_start} ${member.slice(0, member.indexOf('|'))} ${JSON.stringify(Object.keys(inputs).sort().map((k) => [k, inputs[k]]))}`);
          });
        }
        return lines.sort();
      };
      const written = await Promise.all(views().map(heads));
      assert.ok(written.every((lines) => lines.length > 0));
      // The layout before heads: no heads tables, an index per view on the archive; the schema not yet applied.
      for (const view of views()) {
        const keys = registry.entity(view.entity)!.joinKeys.map((k) => `"${k.name}"`);
        await offline.query(`drop table ${headsTable(view.name)}`);
        await offline.query(`create index "events_${source}_by_${view.name}" on ${eventsTable(source)} (${keys.join(', ')}, "at")`);
      }
      await offline.query(`delete from skewless.schema_applied`);
      await offline.ensureSchema(registry);

      assert.deepEqual(await Promise.all(views().map(heads)), written);
      const indexes = await offline.query<{ name: string }>(`select indexname as name from pg_indexes where schemaname = 'skewless' and tablename = $1`, [`events_${source}`]);
      assert.deepEqual(indexes.map((i) => i.name).filter((n) => n.includes('_by_')), []);
      assert.ok((await checkAll()) > 25_000);
    });
  });
}

/** The example's txn_signals reads merchant_baseline, an aggregation view: its z-score comes from the merchant's events. */
function exampleSuite(name: string, openStores: () => Promise<Stores>): void {
  describe(`example: txn_signals over merchant_baseline, ${name}`, () => {
    let registry: Registry;
    let stores: Stores;
    let gateway: TestGateway;
    before(async () => {
      registry = await loadFixtureRegistry(EXAMPLE_DIRS);
      stores = await openStores();
      gateway = await startTestGateway(registry, stores);
    });
    after(async () => {
      await gateway.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
    });

    it('computes the z-score from the merchant baseline at each row\'s T, null for a merchant without events', async () => {
      const user = randomUUID();
      const merchant = randomUUID();
      const quiet = randomUUID();
      const rng = random(7);
      const bodies = Array.from({ length: 40 }, (_, i) => ({ user_id: user, merchant_id: merchant, amount: Math.round(rng() * 20000) / 100, country: 'FR', event_time: new Date(T0 + i * 7 * HOUR + Math.floor(rng() * HOUR)).toISOString() }));
      // Offsets past any an earlier run on this database used (microseconds since the epoch).
      const events = await commitEvents(registry, stores, `example_${randomUUID()}`, 'transactions', bodies, 2, Date.now() * 1000);
      const pushed = await postGraphQL(gateway.base, 'mutation ($r: [JSON!]!) { pushFeatures(view: "user_txn_stats", rows: $r) { rows } }', {
        r: [{ user_id: user, event_timestamp: T0, txn_count_7d: 12, txn_amount_avg_7d: 40, txn_amount_std_30d: 9.5 }],
      });
      assert.equal(pushed.body.errors, undefined, JSON.stringify(pushed.body.errors));
      const times = [T0 - HOUR, T0 + 2 * DAY + 5 * MIN, T0 + 5 * DAY, T0 + 60 * DAY];
      const entities = [...times.map((t) => ({ user_id: user, merchant_id: merchant, event_timestamp: new Date(t).toISOString(), amount: 130 })), { user_id: user, merchant_id: quiet, event_timestamp: new Date(T0 + DAY).toISOString(), amount: 130 }];
      const { body } = await postGraphQL(gateway.base, HISTORICAL, { f: ['txn_signals', 'merchant_baseline:total_tx_count', 'merchant_baseline:avg_tx_amount'], e: entities });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const frame = body.data!.historicalFeatures as Frame;
      assert.deepEqual(frame.columns, ['user_id', 'merchant_id', 'event_timestamp', 'amount', 'txn_signals:amount_to_avg_ratio', 'txn_signals:amount_z_score', 'merchant_baseline:total_tx_count', 'merchant_baseline:avg_tx_amount']);
      const baseline = registry.view('merchant_baseline') as AggregationView;
      const feature = (n: string) => baseline.features.find((f) => f.name === n)!;
      times.forEach((t, i) => {
        const mean = oracle(feature('avg_tx_amount'), events, t) as number | null;
        const std = oracle(feature('stddev_tx_amount'), events, t) as number | null;
        const z = mean === null || std === null || std === 0 ? null : (130 - mean) / std;
        assert.ok(Object.is(frame.rows[i]![5], z), `z at ${new Date(t).toISOString()}: ${String(frame.rows[i]![5])} ≠ ${String(z)}`);
        assert.equal(frame.rows[i]![6], oracle(feature('total_tx_count'), events, t));
        assert.ok(Object.is(frame.rows[i]![7], mean));
      });
      assert.equal(typeof frame.rows[2]![5], 'number', 'the z-score is not null once the merchant has events');
      assert.equal(frame.rows[0]![4], null, 'before the pushed row: no ratio');
      assert.equal(frame.rows[1]![4], 130 / 40, 'within the pushed row\'s ttl');
      assert.deepEqual(frame.rows[4]!.slice(5), [null, 0, null], 'a merchant without events: count 0, no baseline, no z-score');
      assert.deepEqual(frame.statuses[4]!.slice(4), ['PRESENT', 'PRESENT', 'PRESENT', 'PRESENT']);
    });
  });
}

suite('real stores (PostgreSQL, Redis)', realStores);
suite('embedded stores (PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
exampleSuite('real stores (PostgreSQL, Redis)', realStores);
exampleSuite('embedded stores (PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
