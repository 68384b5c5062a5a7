/**
 * `npm run bench -- online --profile`: one more saturation run against a gateway started with
 * `--cpu-prof`, summarised as self time per area and per function inside the measured window. Kept apart
 * from the measured runs: profiling slows the gateway down.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BenchContext, Section } from './benchmark.ts';
import { startGateway } from './gateway.ts';
import { HttpConnection, encodePost } from './http-client.ts';
import { saturate } from './load.ts';
import { summarizeProfile } from './profile.ts';
import { throughput } from './stats.ts';
import { perSecond } from './table.ts';

export interface ProfileRun {
  readonly ctx: BenchContext;
  readonly label: string;
  readonly query: string;
  readonly concurrency: number;
  readonly gatewayArgs: readonly string[];
  readonly redisUrl: string;
  /** The gateway's offline store (DATABASE_URL), as the measured runs had it. */
  readonly databaseUrl: string;
}

const TOP = 25;
const micros = () => Number(process.hrtime.bigint() / 1000n);

export async function profileSection(run: ProfileRun): Promise<Section> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skewless-bench-prof-'));
  try {
    run.ctx.log(`online: profiling the gateway: ${run.label}, ${run.concurrency} in flight`);
    const gateway = await startGateway({ args: run.gatewayArgs, env: { REDIS_URL: run.redisUrl, DATABASE_URL: run.databaseUrl }, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    const base = new URL(gateway.base);
    const request = encodePost(base, '/graphql', JSON.stringify({ query: run.query }), { 'Content-Type': 'application/json', Accept: 'application/json' });
    const window: [number, number] = [0, 0];
    let perSec: number;
    try {
      const connections = await Promise.all(Array.from({ length: run.concurrency }, () => HttpConnection.open(base)));
      try {
        const result = await saturate(
          (i) => async () => {
            const res = await connections[i]!.send(request);
            if (res.status !== 200) throw new Error(`HTTP ${res.status} while profiling: ${res.body.toString().slice(0, 300)}`);
          },
          {
            concurrency: run.concurrency,
            warmupMs: run.ctx.options.quick ? 500 : 2000,
            durationMs: run.ctx.options.quick ? 1000 : 10_000,
            maxRequests: 2_000_000,
            onWindow: { open: () => (window[0] = micros()), close: () => (window[1] = micros()) },
          },
        );
        perSec = throughput(result.completed, result.elapsedNs);
      } finally {
        for (const c of connections) c.close();
      }
    } finally {
      // The profile is written when the gateway exits normally, which SIGTERM lets it do.
      await gateway.stop();
    }
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`the gateway wrote no .cpuprofile into ${dir}`);
    const summary = summarizeProfile(path.join(dir, file), window);
    const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
    return {
      title: `Gateway CPU profile (${run.label}, c=${run.concurrency}, ${perSecond(perSec)} req/s while profiled)`,
      text: [
        `${summary.windowed ? 'Samples inside the measured window' : 'All samples (the window did not match the profile clock)'}: ${summary.totalMs.toFixed(0)} ms.`,
        '',
        'Self time by area:',
        '',
        ...summary.areas.slice(0, 15).map((a) => `- ${pct(a.share)} ${a.name}`),
      ],
      table: { columns: ['self', 'function'], rows: summary.functions.slice(0, TOP).map((f) => [pct(f.share), f.name]) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
