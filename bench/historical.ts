/**
 * Historical retrieval at training-set scale: 1M entity rows × 3 views over ≥ 5M history rows, end to end
 * through `POST /historical/export` (the gateway a separate process, the join inside PostgreSQL), next to
 * DuckDB's ASOF JOIN over the same data (in a Python process: PyPI's duckdb wheel), in the same run.
 *
 * Both engines build the data from the same formulas (`historyFormulas`), so no copy step stands between
 * them; before anything is timed, a sample of the export is compared value for value with DuckDB's answer
 * for the same entity rows. Every history row of a user has its own event time, so "the newest row at or
 * before T" has one answer and ASOF JOIN (which knows no created_timestamp) agrees with Skewless.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { parquetMetadata } from 'hyparquet';
import pg from 'pg';
import { loadRegistry } from '../src/registry/load.ts';
import type { RowView } from '../src/registry/types.ts';
import { asOfJoinSql } from '../src/stores/sql/point-in-time.ts';
import type { BenchContext, Benchmark, Section } from './benchmark.ts';
import { startRepoGateway } from './gateway.ts';
import { ROOT } from './paths.ts';
import { perSecond } from './table.ts';

const REPO = path.join(ROOT, 'bench/repos/online');
const VIEWS = [1, 2, 3] as const;
const FEATURES = 10;
/** History rows per user and view: one an hour, at an offset of its own (so no two share an event time). */
const ROWS_PER_USER = 17;
const SAMPLE_ROWS = 2000;
const run = promisify(execFile);

interface Scale {
  readonly users: number;
  readonly entityRows: number;
}

const features = (k: number) => Array.from({ length: FEATURES }, (_, f) => `v${k}_f${f}`);

/**
 * The data, as SQL expressions both engines evaluate identically over integers u (user), i (hour) and n
 * (entity row). `seconds(x)` is the dialect's "x seconds after 2026-01-01 UTC".
 */
function historyFormulas(scale: Scale, seconds: (x: string) => string) {
  return {
    user: (x: string) => `'u' || (${x})`,
    eventTime: (k: number) => seconds(`i * 3600 + (u % 3600) + ${k}`),
    createdTime: (k: number) => seconds(`i * 3600 + (u % 3600) + ${k} + 5`),
    value: (k: number, f: number) => `((u * ${ROWS_PER_USER} + i) * 100 + ${k * 10 + f} + 0.5)`,
    entityUser: `(n::bigint * 7919) % ${scale.users}`,
    // T spans an hour more than history, so some rows fall before a user's first event (nulls).
    entityTime: seconds(`(n::bigint * 104729) % ${(ROWS_PER_USER + 1) * 3600}`),
  };
}

async function loadPostgres(db: pg.Pool, scale: Scale): Promise<void> {
  const f = historyFormulas(scale, (x) => `(timestamptz '2026-01-01 00:00:00+00' + (${x}) * interval '1 second')`);
  for (const k of VIEWS) {
    await db.query(`truncate skewless.history_bench_v${k}`);
    await db.query(
      `insert into skewless.history_bench_v${k} (user_id, event_timestamp, created_timestamp, ${features(k).join(', ')})
       select ${f.user('u')}, ${f.eventTime(k)}, ${f.createdTime(k)}, ${features(k).map((_, j) => f.value(k, j)).join(', ')}
       from generate_series(0, ${scale.users - 1}) u, generate_series(0, ${ROWS_PER_USER - 1}) i`,
    );
    await db.query(`vacuum analyze skewless.history_bench_v${k}`);
  }
  await db.query('create schema if not exists bench');
  await db.query('drop table if exists bench.entities');
  await db.query(
    `create table bench.entities as select n as row_id, ${f.user(f.entityUser)} as user_id, ${f.entityTime} as event_timestamp, n % 2 as label
     from generate_series(0, ${scale.entityRows - 1}) n`,
  );
  await db.query('alter table bench.entities add primary key (row_id)');
  await db.query('vacuum analyze bench.entities');
}

/**
 * DuckDB's side, in a Python process (the `duckdb` wheel from PyPI, through scripts/python-env.sh bench):
 * the same tables from the same formulas, the sample's answer, and the timed ASOF JOIN written as CSV.
 */
async function runDuckDb(scale: Scale, sampleRows: number): Promise<{ version: string; seconds: number; sample: unknown[][] }> {
  const f = historyFormulas(scale, (x) => `(timestamp '2026-01-01 00:00:00' + to_seconds((${x})::bigint))`);
  const setup = VIEWS.map(
    (k) =>
      `create table h${k} as select ${f.user('u')} as user_id, ${f.eventTime(k)} as event_timestamp, ${features(k).map((c, j) => `${f.value(k, j)}::double as ${c}`).join(', ')} ` +
      `from range(0, ${scale.users}) t1(u), range(0, ${ROWS_PER_USER}) t2(i)`,
  );
  setup.push(`create table entities as select n as row_id, ${f.user(f.entityUser)} as user_id, ${f.entityTime} as event_timestamp, n % 2 as label from range(0, ${scale.entityRows}) t(n)`);
  const asOf = (where: string) =>
    `select e.row_id, ${VIEWS.flatMap((k) => features(k).map((c) => `h${k}.${c}`)).join(', ')} from entities e ` +
    VIEWS.map((k) => `asof left join h${k} on e.user_id = h${k}.user_id and e.event_timestamp >= h${k}.event_timestamp`).join(' ') +
    ` ${where} order by e.row_id`;
  const job = JSON.stringify({ setup, sample: asOf(`where e.row_id < ${sampleRows}`), timed: `copy (${asOf('').replace('select e.row_id,', 'select e.row_id, e.user_id, e.event_timestamp, e.label,')}) to '/dev/null' (format csv)` });
  const python = (await run('bash', [path.join(ROOT, 'scripts/python-env.sh'), 'bench'], { cwd: ROOT })).stdout.trim();
  return new Promise((resolve, reject) => {
    const child = execFile(python, [path.join(ROOT, 'bench/duckdb_asof.py')], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`bench/duckdb_asof.py failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as { version: string; seconds: number; sample: unknown[][] });
    });
    child.stdin!.end(job);
  });
}

/**
 * POSTs an export and reads it to the end; `keep` collects the body (for the sample), `file` writes it
 * there (Parquet, counted afterwards by DuckDB), else it is counted and dropped.
 */
function exportRows(base: string, format: string, body: string, keep: boolean, file?: string): Promise<{ lines: number; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/historical/export?format=${format}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let lines = 0;
      let bytes = 0;
      const out = file === undefined || res.statusCode !== 200 ? undefined : createWriteStream(file);
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (out !== undefined && !out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
        if (keep || res.statusCode !== 200) chunks.push(chunk);
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`export answered ${res.statusCode}: ${text}`));
        else if (out === undefined) resolve({ lines, bytes, text });
        else out.end(() => resolve({ lines, bytes, text }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const exportBody = (where: string) =>
  JSON.stringify({
    features: VIEWS.map((k) => `bench_v${k}`),
    entitySql: `select row_id, user_id, event_timestamp, label from bench.entities ${where} order by row_id`,
  });

/** The SQL the gateway runs for an export body: the same pure function, over the bench repository. */
async function joinStatement(body: string): Promise<string> {
  const built = await loadRegistry({ schemaDir: path.join(REPO, 'schema'), transformsDir: path.join(REPO, 'transforms') });
  if (!built.ok) throw new Error('bench repository does not build');
  const { features: refs, entitySql } = JSON.parse(body) as { features: string[]; entitySql: string };
  const entity = built.registry.entity('User')!;
  const views = refs.map((ref) => {
    const view = built.registry.view(ref) as RowView;
    return { view, entity, features: view.features.map((f) => f.name) };
  });
  return asOfJoinSql({ joinKeys: ['user_id'], asKnownAt: false, views }, { kind: 'sql', sql: entitySql, limit: undefined });
}

export const historicalBench: Benchmark = {
  name: 'historical',
  title: 'point-in-time join at training-set scale, next to DuckDB ASOF JOIN',
  async run(ctx: BenchContext): Promise<Section[]> {
    const scale: Scale = ctx.options.quick ? { users: 10_000, entityRows: 100_000 } : { users: 100_000, entityRows: 1_000_000 };
    const historyRows = scale.users * ROWS_PER_USER * VIEWS.length;
    const databaseUrl = await ctx.databaseUrl();
    const gateway = await startRepoGateway(REPO, databaseUrl);
    const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      ctx.log(`historical: loading ${historyRows.toLocaleString('en')} history rows and ${scale.entityRows.toLocaleString('en')} entity rows into PostgreSQL and DuckDB`);
      await loadPostgres(db, scale);
      const duck = await runDuckDb(scale, SAMPLE_ROWS);
      const duckSeconds = duck.seconds;

      // Correctness first: a sample of the export equals DuckDB's answer for the same rows, value for value.
      const sampleWhere = `where row_id < ${SAMPLE_ROWS}`;
      const sample = (await exportRows(gateway.base, 'jsonl', exportBody(sampleWhere), true)).text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const expected = duck.sample;
      if (sample.length !== expected.length) throw new Error(`sample: export gave ${sample.length} rows, DuckDB ${expected.length}`);
      const columns = VIEWS.flatMap((k) => features(k).map((c) => `bench_v${k}:${c}`));
      let nullRows = 0;
      sample.forEach((row, r) => {
        const want = expected[r]!;
        if (row.row_id !== want[0]) throw new Error(`sample row ${r}: row_id ${String(row.row_id)} ≠ ${String(want[0])}`);
        if (row['bench_v1:v1_f0'] === null) nullRows++;
        columns.forEach((c, i) => {
          if (row[c] !== want[i + 1]) throw new Error(`sample row ${r} (row_id ${String(row.row_id)}) ${c}: export ${String(row[c])}, DuckDB ${String(want[i + 1])}`);
        });
      });
      if (nullRows === 0 || nullRows === sample.length) throw new Error(`sample has ${nullRows} rows without history: the data should give some`);
      ctx.log(`historical: sample of ${sample.length} rows equal to DuckDB's (${nullRows} before any history)`);

      // PostgreSQL alone: the statement the gateway runs, executed to the end with its rows discarded
      // (EXPLAIN ANALYZE without per-node timing), under the settings the gateway's transaction sets.
      const sql = await joinStatement(exportBody(''));
      const client = await db.connect();
      let pgSeconds: number;
      try {
        await client.query('begin read only');
        await client.query('set local enable_memoize = off');
        await client.query('set local jit = off');
        const started = process.hrtime.bigint();
        await client.query(`explain (analyze, timing off) ${sql}`);
        pgSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        await client.query('commit');
      } finally {
        client.release();
      }

      const rows: string[][] = [];
      for (const format of ['csv', 'jsonl', 'parquet']) {
        ctx.log(`historical: exporting ${scale.entityRows.toLocaleString('en')} rows as ${format}`);
        const started = process.hrtime.bigint();
        const file = format === 'parquet' ? path.join(os.tmpdir(), `skewless-bench-${process.pid}.parquet`) : undefined;
        const result = await exportRows(gateway.base, format, exportBody(''), false, file);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        let dataLines = result.lines - (format === 'csv' ? 1 : 0);
        if (file !== undefined) {
          dataLines = Number(parquetMetadata((await readFile(file)).buffer as ArrayBuffer).num_rows);
          await rm(file, { force: true });
        }
        if (dataLines !== scale.entityRows) throw new Error(`${format} export returned ${dataLines} rows, expected ${scale.entityRows}`);
        const rate = scale.entityRows / seconds;
        rows.push([
          `Skewless export (${format})`,
          seconds.toFixed(2),
          perSecond(rate),
          `${(duckSeconds / seconds).toFixed(3)}× (DuckDB ${(seconds / duckSeconds).toFixed(1)}× faster)`,
          ctx.options.quick ? '—' : rate >= 500_000 ? 'yes' : 'no',
        ]);
      }
      rows.push(['PostgreSQL alone: the same join statement, rows discarded', pgSeconds.toFixed(2), perSecond(scale.entityRows / pgSeconds), `${(duckSeconds / pgSeconds).toFixed(3)}×`, '']);
      rows.push([`DuckDB ${duck.version} ASOF JOIN → CSV (Python process)`, duckSeconds.toFixed(2), perSecond(scale.entityRows / duckSeconds), '1×', '']);
      return [
        {
          title: 'Result',
          table: { columns: ['engine', 'seconds', 'entity rows/s', 'ratio to DuckDB', '≥ 500k rows/s?'], rows },
          notes: [
            `${scale.entityRows.toLocaleString('en')} entity rows (from entitySql over a PostgreSQL table, ordered by row_id) × 3 views of ${FEATURES} Float features, over ${historyRows.toLocaleString('en')} history rows (${scale.users.toLocaleString('en')} users × ${ROWS_PER_USER} rows × 3 views).`,
            'Skewless: seconds from sending the request to the last byte received by this process, which counts CSV and JSON lines and drops them, and writes Parquet to a temporary file (its row count read from the footer afterwards, untimed); the gateway is a separate process.',
            `A sample of ${SAMPLE_ROWS} rows of the export was checked equal to DuckDB's answer, value for value, before timing.`,
          ],
        },
      ];
    } finally {
      await db.end();
      await gateway.stop();
    }
  },
};
