/**
 * historicalFeatures end to end: every point-in-time boundary as a golden case, and parity with the online
 * path — the same value online at T and historically at T, value for value.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { toEpochMs } from '../../src/features/time.ts';
import { after, before, describe, it } from 'node:test';
import type { Stores } from '../../src/stores/open.ts';
import { CsvParser } from '../../src/ingest/csv.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';
import { readParquet } from '../helpers/parquet.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const HISTORICAL = `query ($f: [String!], $e: [JSON!], $k: Boolean) {
  historicalFeatures(features: $f, entities: $e, asKnownAt: $k) { columns rows statuses eventTimestamps }
}`;

export interface SuiteOptions {
  /** PGlite runs SQL on the JavaScript thread and cannot cancel a running statement. */
  readonly cancelsStatements: boolean;
}

export function historicalSuite(name: string, openStores: () => Promise<Stores>, options: SuiteOptions): void {
  describe(`historicalFeatures: ${name}`, () => {
    let stores: Stores;
    let gateway: TestGateway;
    const u = randomUUID();
    const push = async (view: string, rows: unknown[]) => {
      const { body } = await postGraphQL(gateway.base, 'mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', { v: view, r: rows });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    };
    const historical = async (features: string[], entities: unknown[], asKnownAt = false) => {
      const { body } = await postGraphQL(gateway.base, HISTORICAL, { f: features, e: entities, k: asKnownAt });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      return body.data!.historicalFeatures as { columns: string[]; rows: unknown[][]; statuses: (string | null)[][]; eventTimestamps: (string | null)[][] };
    };
    const at = (t: number, extra: Record<string, unknown> = {}) => ({ user_id: u, event_timestamp: new Date(t).toISOString(), ...extra });

    before(async () => {
      stores = await openStores();
      gateway = await startTestGateway(await loadFixtureRegistry(), stores);
      // stats_a has ttl 1h. Four rows, two with the same event time, one created long after its event.
      await push('stats_a', [
        { user_id: u, event_timestamp: T0, created_timestamp: T0, a_int: 1, a_float: 1.5 },
        { user_id: u, event_timestamp: T0 + 30 * MIN, created_timestamp: T0 + 30 * MIN, a_int: 2, a_float: null },
        { user_id: u, event_timestamp: T0 + 30 * MIN, created_timestamp: T0 + 40 * MIN, a_int: 3, a_float: null },
        { user_id: u, event_timestamp: T0 + 2 * HOUR, created_timestamp: T0 + 5 * HOUR, a_int: 4, a_float: 4.5 },
      ]);
      // stats_c has no ttl: a year-old value is still valid.
      await push('stats_c', [{ user_id: u, event_timestamp: T0 - 365 * 24 * HOUR, c_score: 0.25 }]);
    });
    after(async () => {
      await gateway.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
    });

    it('answers every boundary of T − ttl ≤ event_timestamp ≤ T exactly', async () => {
      const cases: [string, number, number | null][] = [
        ['only rows in the future', T0 - 1, null],
        ['a row exactly at T', T0, 1],
        ['equal event times: the greater created time', T0 + 30 * MIN, 3],
        ['a row exactly at T − ttl', T0 + 30 * MIN + HOUR, 3],
        ['just outside the ttl', T0 + 30 * MIN + HOUR + 1, null],
        ['the newest row', T0 + 2 * HOUR, 4],
      ];
      const f = await historical(['stats_a:a_int'], cases.map(([label, t]) => at(t, { label })));
      assert.deepEqual(f.columns, ['user_id', 'event_timestamp', 'label', 'stats_a:a_int']);
      cases.forEach(([label, , expected], i) => assert.deepEqual(f.rows[i]!.slice(2), [label, expected], label));
      assert.deepEqual(f.statuses.map((s) => s[3]), cases.map(([, , v]) => (v === null ? 'NOT_FOUND' : 'PRESENT')));
      assert.equal(f.eventTimestamps[2]![3], new Date(T0 + 30 * MIN).toISOString());
    });

    it('as known at T, ignores rows created after T', async () => {
      const f = await historical(['stats_a:a_int'], [at(T0 + 2 * HOUR), at(T0 + 5 * HOUR - 1), at(T0 + 30 * MIN)], true);
      // At T0+2h the row of T0+2h was not yet created, and the ones before it are outside the ttl; at
      // T0+30m the row created at T0+40m was not yet known, so its same-event-time sibling is served.
      assert.deepEqual(f.rows.map((r) => r[2]), [null, null, 2]);
      const later = await historical(['stats_a:a_int'], [at(T0 + 5 * HOUR - 1)]);
      assert.deepEqual(later.rows.map((r) => r[2]), [null], 'without asKnownAt the row is outside the ttl at T0+5h');
      const known = await historical(['stats_a:a_int'], [at(T0 + 2 * HOUR + 59 * MIN)], true);
      assert.deepEqual(known.rows.map((r) => r[2]), [null], 'created at T0+5h: unknown before then');
    });

    it('returns one row per input row, in order: duplicates, unknown entities, null values, no-ttl views', async () => {
      const f = await historical(['stats_a:a_float', 'stats_c:c_score'], [at(T0), { user_id: 'nobody', event_timestamp: T0, id: 7 }, at(T0), at(T0 + 35 * MIN)]);
      assert.deepEqual(f.columns, ['user_id', 'event_timestamp', 'id', 'stats_a:a_float', 'stats_c:c_score']);
      assert.deepEqual(f.rows.map((r) => r.slice(2)), [
        [null, 1.5, 0.25],
        [7, null, null],
        [null, 1.5, 0.25],
        [null, null, 0.25],
      ]);
      assert.deepEqual(f.statuses[3]!.slice(3), ['PRESENT', 'PRESENT'], 'a null value of a present row is PRESENT');
    });

    it('reproduces the worked example of docs/point-in-time.md', async () => {
      // The doc uses a 3-day ttl; stats_b has 1d, so one "day" of the doc is 8 hours here (and its hours shrink alike).
      const unit = 8 * HOUR; // the doc's "day"
      const w = randomUUID();
      const d = (day: number, hours = 0) => T0 + day * unit + hours * (unit / 24);
      await push('stats_b', [
        { user_id: w, event_timestamp: d(1), created_timestamp: d(1, 1), b_count: 5 },
        { user_id: w, event_timestamp: d(3), created_timestamp: d(3, 1), b_count: 7 },
        { user_id: w, event_timestamp: d(3), created_timestamp: d(3, 4), b_count: 8 },
        { user_id: w, event_timestamp: d(5), created_timestamp: d(9), b_count: 9 },
      ]);
      const table: [number, number | null, number | null][] = [
        [d(1) - 1, null, null],
        [d(1), 5, null],
        [d(3), 8, 5],
        [d(3, 2), 8, 7],
        [d(6), 9, 8],
        [d(6) + 1, 9, null],
        [d(9, 12), null, null],
      ];
      const rows = table.map(([t]) => ({ user_id: w, event_timestamp: t }));
      assert.deepEqual((await historical(['stats_b:b_count'], rows)).rows.map((r) => r[2]), table.map(([, v]) => v));
      assert.deepEqual((await historical(['stats_b:b_count'], rows, true)).rows.map((r) => r[2]), table.map(([, , v]) => v));
    });

    it('takes entity rows from entitySql, giving the same values as inline rows, its columns returned whole', async () => {
      const table = `labels_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      await stores.offline.query(`create table public.${table} (user_id text, event_timestamp timestamptz, label integer, seq integer)`);
      const times = [T0 - 1, T0, T0 + 30 * MIN, T0 + 2 * HOUR];
      for (const [i, t] of times.entries()) await stores.offline.query(`insert into public.${table} values ($1, $2, $3, $4)`, [u, new Date(t), i % 2, i]);
      const { body } = await postGraphQL(gateway.base, 'query ($s: String!) { historicalFeatures(features: ["stats_a:a_int"], entitySql: $s) { columns rows } }', {
        s: `select user_id, event_timestamp, label, seq from public.${table} order by seq -- ordered as produced`,
      });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const viaSql = body.data!.historicalFeatures as { columns: string[]; rows: unknown[][] };
      assert.deepEqual(viaSql.columns, ['user_id', 'event_timestamp', 'label', 'seq', 'stats_a:a_int']);
      assert.deepEqual(viaSql.rows.map((r) => [r[2], r[3], r[4]]), [[0, 0, null], [1, 1, 1], [0, 2, 3], [1, 3, 4]]);
      const inline = await historical(['stats_a:a_int'], times.map((t) => at(t)));
      assert.deepEqual(viaSql.rows.map((r) => r[4]), inline.rows.map((r) => r[2]));
    });

    it('refuses entitySql that is not one SELECT before running it, and cannot write even past the check', async () => {
      const refused = await postGraphQL(gateway.base, 'query ($s: String!) { historicalFeatures(features: ["stats_a:a_int"], entitySql: $s) { rows } }', {
        s: 'select 1; drop table skewless.history_stats_a',
      });
      assert.equal(refused.body.errors?.[0]?.extensions?.code, 'INVALID_ENTITY_SQL');
      assert.match(refused.body.errors![0]!.message, /refused before running: only one statement/);
      const broken = await postGraphQL(gateway.base, 'query { historicalFeatures(features: ["stats_a:a_int"], entitySql: "select nope from nowhere") { rows } }');
      assert.equal(broken.body.errors?.[0]?.extensions?.code, 'INVALID_ENTITY_SQL');
      // The second fence, on its own: the store runs entitySql read-only, so SQL that writes (here by
      // advancing a sequence) fails even when handed to the store directly, past the check.
      await stores.offline.query('create sequence if not exists public.skewless_test_seq');
      const plan = { joinKeys: ['user_id'], asKnownAt: false, views: [] };
      await assert.rejects(
        stores.offline.asOfJoin(plan, { kind: 'sql', sql: "select 'u' as user_id, now() as event_timestamp, nextval('public.skewless_test_seq') as n", limit: 10, timeoutMs: 5000 }),
        (e: { code?: string; message?: string }) => e.code === '25006' && /read-only transaction/.test(e.message ?? ''),
      );
    });

    it('cancels entitySql that runs past its timeout', { skip: options.cancelsStatements ? false : 'PGlite cannot cancel a running statement' }, async () => {
      const plan = { joinKeys: ['user_id'], asKnownAt: false, views: [] };
      await assert.rejects(
        stores.offline.asOfJoin(plan, { kind: 'sql', sql: "select 'u' as user_id, now() as event_timestamp from generate_series(1, 200000000) g where g < 0", limit: 10, timeoutMs: 50 }),
        (e: { code?: string }) => e.code === '57014',
      );
    });

    it('exports the same rows as CSV and JSON lines, streamed', async () => {
      const entities = [at(T0 - 1, { label: 'a,"quoted"' }), at(T0 + 30 * MIN, { label: null }), { user_id: 'nobody', event_timestamp: T0, label: 'x' }];
      const args = { features: ['stats_a:a_int', 'stats_a:a_float', 'stats_c:c_score'], entities };
      const frame = await historical(args.features, entities);
      const jsonl = await fetch(`${gateway.base}/historical/export?format=jsonl`, { method: 'POST', body: JSON.stringify(args) });
      assert.equal(jsonl.status, 200);
      assert.match(jsonl.headers.get('content-type') ?? '', /ndjson/);
      const lines = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines.map((l) => frame.columns.map((c) => l[c])), frame.rows);
      const csv = await fetch(`${gateway.base}/historical/export?format=csv`, { method: 'POST', body: JSON.stringify(args) });
      assert.equal(csv.status, 200);
      const parser = new CsvParser();
      const records = [...parser.push(await csv.text()), ...parser.end()].map((r) => r.fields);
      assert.deepEqual(records[0], frame.columns);
      const text = (v: unknown) => (v === null ? '' : String(v));
      assert.deepEqual(records.slice(1), frame.rows.map((r) => r.map(text)));
    });

    it('exports the same rows as Parquet, typed by the registry, read back by hyparquet', async () => {
      const entities = [at(T0 - 1, { label: 'a,"quoted"', weight: 2 }), at(T0 + 30 * MIN, { label: null, weight: 1 }), { user_id: 'nobody', event_timestamp: T0, label: 'x', weight: 3 }];
      const args = { features: ['stats_a:a_int', 'stats_a:a_float', 'stats_c:c_score'], entities };
      const frame = await historical(args.features, entities);
      const res = await fetch(`${gateway.base}/historical/export?format=parquet`, { method: 'POST', body: JSON.stringify(args) });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/vnd.apache.parquet');
      const read = await readParquet(new Uint8Array(await res.arrayBuffer()));
      assert.deepEqual(read.columns, [
        ['user_id', 'BYTE_ARRAY/UTF8'],
        ['event_timestamp', 'INT64/TIMESTAMP(UTC,MILLIS)'],
        ['label', 'BYTE_ARRAY/UTF8'],
        ['weight', 'INT64'],
        ['stats_a:a_int', 'INT32'],
        ['stats_a:a_float', 'DOUBLE'],
        ['stats_c:c_score', 'DOUBLE'],
      ]);
      assert.deepEqual(
        read.rows.map((r) => frame.columns.map((c) => (c === 'event_timestamp' ? (r[c] as Date).getTime() : c === 'weight' ? Number(r[c]) : r[c]))),
        frame.rows.map((row) => row.map((v, i) => (frame.columns[i] === 'event_timestamp' ? toEpochMs(v) : v))),
      );
    });

    it('streams an entitySql training set past the GraphQL row limit, in order', async () => {
      const small = await startTestGateway(await loadFixtureRegistry(), stores, { maxHistoricalRows: 100 });
      try {
        const sql = `select case when g % 2 = 0 then '${u}' else 'other-' || g end as user_id, timestamptz '2026-06-01 12:00:00+00' + g * interval '1 second' as event_timestamp, g as n from generate_series(1, 12000) g order by g`;
        const refused = await postGraphQL(small.base, 'query ($s: String!) { historicalFeatures(features: ["stats_a:a_int"], entitySql: $s) { rows } }', { s: sql });
        assert.equal(refused.body.errors?.[0]?.extensions?.code, 'TOO_MANY_ROWS');
        assert.match(refused.body.errors![0]!.message, /\/historical\/export/);
        const res = await fetch(`${small.base}/historical/export?format=jsonl`, { method: 'POST', body: JSON.stringify({ features: ['stats_a:a_int'], entitySql: sql }) });
        assert.equal(res.status, 200);
        const rows = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { n: number; user_id: string; 'stats_a:a_int': number | null });
        assert.equal(rows.length, 12000);
        assert.deepEqual(rows.slice(0, 3).map((r) => r.n), [1, 2, 3]);
        assert.ok(rows.every((r, i) => r.n === i + 1), 'in the order the query produced');
        // T = 12:00:00 + n s, up to 15:20, for u: 1 (row at T0) until T0+30min, then 3 (same event time,
        // later created) until the 1h ttl runs out at T0+1h30, then nothing, then 4 from T0+2h.
        const forU = rows.filter((r) => r.user_id === u);
        assert.deepEqual([...new Set(forU.map((r) => r['stats_a:a_int']))], [1, 3, null, 4]);
        assert.ok(rows.filter((r) => r.user_id !== u).every((r) => r['stats_a:a_int'] === null));
      } finally {
        await small.close();
      }
    });

    it('refuses a bad export before writing any row, with a code', async () => {
      const post = (query: string, body: string) => fetch(`${gateway.base}/historical/export${query}`, { method: 'POST', body });
      const cases: [Response, number, string][] = [
        [await post('?format=xml', '{}'), 400, 'INVALID_FORMAT'],
        [await post('', 'not json'), 400, 'INVALID_JSON'],
        [await post('', JSON.stringify({ features: ['stats_a:a_int'], entitySql: 'delete from labels' })), 400, 'INVALID_ENTITY_SQL'],
        [await post('', JSON.stringify({ features: ['stats_a:nope'], entities: [] })), 400, 'UNKNOWN_FEATURE'],
        [await post('', JSON.stringify({ features: ['stats_a:a_int'], entities: [{ user_id: u }] })), 400, 'INVALID_ENTITY_ROW'],
      ];
      for (const [res, status, code] of cases) {
        assert.equal(res.status, status, code);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, code);
      }
    });

    it('names bad entity rows before doing any work', async () => {
      const { body } = await postGraphQL(gateway.base, HISTORICAL, { f: ['stats_a:a_int'], e: [at(T0), { user_id: u }, { event_timestamp: 'soon' }], k: false });
      assert.equal(body.errors?.[0]?.extensions?.code, 'INVALID_ENTITY_ROW');
      assert.deepEqual((body.errors?.[0]?.extensions?.rowErrors as { row: number; key: string }[]).map((e) => [e.row, e.key]), [
        [1, 'event_timestamp'],
        [2, 'user_id'],
        [2, 'event_timestamp'],
      ]);
    });

    it('gives online at T and historical at T the same values, value for value', async () => {
      const users = Array.from({ length: 50 }, () => randomUUID());
      const now = Date.now();
      const rows = users.flatMap((user, i) => [
        { user_id: user, event_timestamp: now - 90 * MIN, a_int: i, a_float: i / 3 }, // expired at now (ttl 1h)
        ...(i % 3 === 0 ? [] : [{ user_id: user, event_timestamp: now - (i % 50) * MIN, a_int: i * 10, a_float: i % 4 === 0 ? null : -i / 7 }]),
      ]);
      await push('stats_a', rows);
      await push('stats_b', users.filter((_, i) => i % 2 === 0).map((user, i) => ({ user_id: user, event_timestamp: now - i * HOUR, b_count: i, b_label: `l${i}` })));
      const features = ['stats_a:a_int', 'stats_a:a_float', 'stats_b:b_count', 'stats_b:b_label'];
      const { body } = await postGraphQL(gateway.base, 'query ($f: [String!], $e: [JSON!]!) { onlineFeatures(features: $f, entities: $e) { rows asOf } }', {
        f: features,
        e: users.map((user) => ({ user_id: user })),
      });
      const online = body.data!.onlineFeatures as { rows: unknown[][]; asOf: string };
      for (const asKnownAt of [false, true]) {
        const hist = await historical(features, users.map((user) => ({ user_id: user, event_timestamp: online.asOf })), asKnownAt);
        assert.deepEqual(hist.rows.map((r) => r.slice(2)), online.rows.map((r) => r.slice(1)), `asKnownAt ${asKnownAt}`);
      }
      assert.ok(online.rows.some((r) => r[1] !== null) && online.rows.some((r) => r[1] === null), 'the case mixes found and missing values');
    });
  });
}
