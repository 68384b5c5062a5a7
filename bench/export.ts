/**
 * The training-set export: N entity rows from entitySql, joined point in time against history inside
 * PostgreSQL, streamed as JSON lines from a separate gateway process to this one, which reads and discards
 * them. Reports rows/s and the gateway's resident memory before and at its peak during the export, the
 * figure that shows the stream is bounded (target from the issue: 10 million rows under 500 MB RSS).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import pg from 'pg';
import type { BenchContext, Benchmark, Section } from './benchmark.ts';
import { startRepoGateway } from './gateway.ts';
import { ROOT } from './paths.ts';
import { perSecond } from './table.ts';

const REPO = path.join(ROOT, 'bench/repos/online');
const USERS = 1000;
const MB = 1024 * 1024;

/** Resident set size of a process, bytes (Linux /proc). */
function rss(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** POSTs the export and reads it to the end, counting lines; resolves with rows and bytes. */
function drain(base: string, body: string): Promise<{ rows: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/historical/export?format=jsonl`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => reject(new Error(`export answered ${res.statusCode}: ${text}`)));
        return;
      }
      let rows = 0;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
      });
      res.on('end', () => resolve({ rows, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const exportBench: Benchmark = {
  name: 'export',
  title: 'streaming a training set: rows/s and bounded gateway memory',
  async run(ctx: BenchContext): Promise<Section[]> {
    const rowsWanted = ctx.options.quick ? 200_000 : 10_000_000;
    const databaseUrl = await ctx.databaseUrl();
    const gateway = await startRepoGateway(REPO, databaseUrl);
    const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      // History: ten hourly rows per user for one view of ten features (the gateway created the table).
      await db.query('truncate skewless.history_bench_v1');
      await db.query(
        `insert into skewless.history_bench_v1 (user_id, event_timestamp, created_timestamp, ${Array.from({ length: 10 }, (_, f) => `v1_f${f}`).join(', ')})
         select 'u' || (g % ${USERS}), now() - (g / ${USERS}) * interval '1 hour', now() - (g / ${USERS}) * interval '1 hour', ${Array.from({ length: 10 }, (_, f) => `g + ${f}.5`).join(', ')}
         from generate_series(0, ${USERS * 10 - 1}) g`,
      );
      await db.query('analyze skewless.history_bench_v1');
      const body = JSON.stringify({
        features: ['bench_v1'],
        entitySql: `select 'u' || (g % ${USERS}) as user_id, now() - interval '90 minutes' as event_timestamp, g as row_id from generate_series(1, ${rowsWanted}) g`,
      });
      ctx.log(`export: streaming ${rowsWanted.toLocaleString('en')} rows`);
      const before = rss(gateway.pid) ?? 0;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rss(gateway.pid) ?? 0)), 50);
      const started = process.hrtime.bigint();
      const result = await drain(gateway.base, body).finally(() => clearInterval(sampler));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      peak = Math.max(peak, rss(gateway.pid) ?? 0);
      if (result.rows !== rowsWanted) throw new Error(`export returned ${result.rows} rows, expected ${rowsWanted}`);
      const met = peak < 500 * MB;
      return [
        {
          title: 'Result',
          table: {
            columns: ['rows', 'seconds', 'rows/s', 'MB streamed', 'gateway RSS before', 'gateway RSS peak', 'target', 'met?'],
            rows: [
              [
                rowsWanted.toLocaleString('en'),
                seconds.toFixed(1),
                perSecond(rowsWanted / seconds),
                (result.bytes / MB).toFixed(0),
                `${(before / MB).toFixed(0)} MB`,
                `${(peak / MB).toFixed(0)} MB`,
                ctx.options.quick ? '(quick run: 10M rows < 500 MB in a full run)' : '10M rows < 500 MB RSS',
                ctx.options.quick ? '—' : met ? 'yes' : 'no',
              ],
            ],
          },
          notes: [
            `Entity rows from entitySql (generate_series over ${USERS} users); features: the 10 of bench_v1, joined point in time against ${USERS * 10} history rows in PostgreSQL; JSON lines read and discarded by this process.`,
            'RSS is sampled from /proc every 50 ms; it includes the gateway\'s whole process (V8 heap, buffers, code).',
          ],
        },
      ];
    } finally {
      await db.end();
      await gateway.stop();
    }
  },
};
