/**
 * The soak: mixed traffic for minutes against one `skewless serve` on real PostgreSQL and Redis, watching
 * the gateway's resident memory. The question is whether memory stays put under steady load (the issue's
 * bar: RSS growth under 10%), not how fast anything is.
 *
 *   - the repository's own schema and transforms, demo off, a fresh database of the run's own;
 *   - 8 clients back to back for the whole run, each request drawn at random (seeded): 80% online reads
 *     (the fraud model's features for 10 users), 15% pushes (10 rows of user_txn_stats), 5% historical
 *     queries (50 entity rows at random instants, asKnownAt alternating);
 *   - RSS read from /proc every second. The baseline is the RSS at the end of the warm-up (allocators,
 *     JIT and caches have grown by then), measured in the same run; growth is the last minute's median
 *     against it, so one GC's timing does not decide the figure.
 */
import { readFile } from 'node:fs/promises';
import { seededRandom } from '../src/demo/random.ts';
import type { BenchContext, Benchmark, Section } from './benchmark.ts';
import { runDatabase } from './database.ts';
import { startGateway } from './gateway.ts';
import { percentile } from './stats.ts';
import { ms, perSecond } from './table.ts';

const TARGET_GROWTH = 0.1;
const CLIENTS = 8;
const USERS = 2000;

const ONLINE = `query Soak($e: [JSON!]!) { onlineFeatures(features: ["user_txn_stats:txn_count_7d", "user_txn_stats:txn_amount_avg_7d", "user_txn_windows:tx_count_24h", "merchant_baseline:avg_tx_amount"], entities: $e) { rows statuses } }`;
const PUSH = `mutation Soak($rows: [JSON!]!) { pushFeatures(view: "user_txn_stats", rows: $rows) { rows } }`;
const HISTORICAL = `query Soak($e: [JSON!]!, $k: Boolean!) { historicalFeatures(features: ["user_txn_stats:txn_count_7d", "user_txn_windows:tx_count_24h"], entities: $e, asKnownAt: $k) { rows } }`;

type Kind = 'online' | 'push' | 'historical';

interface Tally {
  readonly latencies: Record<Kind, number[]>;
  errors: number;
  firstError: string | undefined;
}

export const soak: Benchmark = {
  name: 'soak',
  title: 'Soak: mixed online reads, pushes and historical queries for minutes; gateway RSS against its post-warm-up baseline',
  async run(ctx: BenchContext): Promise<Section[]> {
    const warmupMs = ctx.options.quick ? 5_000 : 30_000;
    const soakMs = ctx.options.quick ? 20_000 : 180_000;
    const redisUrl = await ctx.redisUrl();
    const database = await runDatabase(await ctx.databaseUrl(), 'soak');
    const gateway = await startGateway({ args: ['--demo', 'off'], env: { REDIS_URL: redisUrl, DATABASE_URL: database.url } });
    try {
      const post = async (query: string, variables: Record<string, unknown>): Promise<void> => {
        const res = await fetch(`${gateway.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
        const body = (await res.json()) as { errors?: { message: string }[] };
        if (res.status !== 200 || body.errors !== undefined) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body.errors ?? body).slice(0, 300)}`);
      };
      const user = (r: () => number) => `soak-u${Math.floor(r() * USERS)}`;
      const request = (r: () => number): [Kind, () => Promise<void>] => {
        const x = r();
        if (x < 0.8) return ['online', () => post(ONLINE, { e: Array.from({ length: 10 }, () => ({ user_id: user(r), merchant_id: `m${Math.floor(r() * 50)}` })) })];
        if (x < 0.95) {
          const now = Date.now();
          const rows = Array.from({ length: 10 }, () => ({ user_id: user(r), event_timestamp: new Date(now - Math.floor(r() * 3_600_000)).toISOString(), txn_count_7d: Math.floor(r() * 50), txn_amount_avg_7d: r() * 100, txn_amount_std_30d: r() * 10 }));
          return ['push', () => post(PUSH, { rows })];
        }
        const e = Array.from({ length: 50 }, () => ({ user_id: user(r), event_timestamp: new Date(Date.now() - Math.floor(r() * 86_400_000)).toISOString() }));
        return ['historical', () => post(HISTORICAL, { e, k: r() < 0.5 })];
      };

      const rss: { at: number; bytes: number }[] = [];
      const sample = async () => rss.push({ at: Date.now(), bytes: await rssOf(gateway.pid) });
      const sampler = setInterval(() => void sample(), 1000);
      const tally: Tally = { latencies: { online: [], push: [], historical: [] }, errors: 0, firstError: undefined };
      const start = Date.now();
      const warmEnd = start + warmupMs;
      const end = warmEnd + soakMs;
      ctx.log(`soak: ${CLIENTS} clients, ${warmupMs / 1000} s warm-up, then ${soakMs / 1000} s measured`);
      const client = async (seed: number) => {
        const r = seededRandom(seed);
        while (Date.now() < end) {
          const [kind, send] = request(r);
          const t0 = performance.now();
          try {
            await send();
            if (Date.now() >= warmEnd) tally.latencies[kind].push(performance.now() - t0);
          } catch (error) {
            tally.errors++;
            tally.firstError ??= (error as Error).message;
          }
        }
      };
      await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(1000 + i)));
      clearInterval(sampler);
      await sample();

      const baseline = median(rss.filter((s) => s.at <= warmEnd && s.at > warmEnd - 5_000).map((s) => s.bytes));
      const last = median(rss.filter((s) => s.at > end - 60_000).map((s) => s.bytes));
      const peak = Math.max(...rss.filter((s) => s.at > warmEnd).map((s) => s.bytes));
      const growth = (last - baseline) / baseline;
      const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
      const counts = (['online', 'push', 'historical'] as const).map((k) => tally.latencies[k].length);
      const total = counts.reduce((a, b) => a + b, 0);
      return [
        {
          title: `Memory over ${soakMs / 1000} s of mixed load (${total.toLocaleString('en-US')} requests, ${tally.errors} failed)`,
          text: [
            `One \`skewless serve\` process (the repository's schema, demo off) on real PostgreSQL (a fresh database) and Redis; ${CLIENTS} clients back to back; RSS from /proc every second.`,
            'Baseline: median RSS over the last 5 s of the warm-up, same run. End: median RSS over the last minute (the whole window with --quick).',
          ],
          table: {
            columns: ['RSS after warm-up (baseline)', 'RSS end', 'RSS peak', 'growth', 'target', 'met?'],
            rows: [[mib(baseline), mib(last), mib(peak), `${(growth * 100).toFixed(1)}%`, `< ${TARGET_GROWTH * 100}%`, growth < TARGET_GROWTH && tally.errors === 0 ? 'yes' : 'no']],
          },
          notes: tally.firstError === undefined ? [] : [`First failure: ${tally.firstError}`],
        },
        {
          title: 'Requests during the measured window',
          table: {
            columns: ['kind', 'requests', 'p50', 'p99'],
            rows: (['online', 'push', 'historical'] as const).map((k) => {
              const l = [...tally.latencies[k]].sort((a, b) => a - b);
              return [k, l.length.toLocaleString('en-US'), l.length === 0 ? '–' : ms(percentile(l, 0.5)), l.length === 0 ? '–' : ms(percentile(l, 0.99))];
            }),
          },
          notes: [`Throughput over the window: ${perSecond(total / (soakMs / 1000))} requests/s (not a speed figure: the clients share the two cores with the gateway, PostgreSQL and Redis).`],
        },
      ];
    } finally {
      await gateway.stop();
      await database.drop();
    }
  },
};

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
