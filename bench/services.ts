/**
 * The Redis the benchmarks run against: REDIS_URL when set, otherwise a throw-away one from
 * `scripts/services.sh` on loopback, stopped afterwards only if this run started it.
 *
 * By default that Redis is the bench's own (port 63798, its own run directory), not the one `npm test`
 * uses: a test run that started its Redis stops it when it ends — mid-benchmark, if we shared it — and its
 * traffic would land in our numbers. SKEWLESS_REDIS_PORT / SKEWLESS_SERVICES_RUN, when set, win.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.ts';

const run = promisify(execFile);
const SERVICES = path.join(ROOT, 'scripts/services.sh');
const BENCH_REDIS_PORT = '63798';

export interface BenchRedis {
  readonly url: string;
  /** Where the URL came from, for the report: `REDIS_URL`, `services.sh (started)` or `services.sh (already running)`. */
  readonly origin: string;
  /** Stops Redis if this run started it; otherwise does nothing. */
  release(): Promise<void>;
}

export async function benchRedis(log: (line: string) => void): Promise<BenchRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, origin: 'REDIS_URL', release: async () => {} };

  const env = {
    ...process.env,
    SKEWLESS_REDIS_PORT: process.env.SKEWLESS_REDIS_PORT ?? BENCH_REDIS_PORT,
    SKEWLESS_SERVICES_RUN: process.env.SKEWLESS_SERVICES_RUN ?? path.join(os.tmpdir(), 'skewless-bench-services'),
  };
  const opts = { cwd: ROOT, env };
  // `status` exits 0 only when that Redis is running and answers PING.
  const wasRunning = await run('bash', [SERVICES, 'status', 'redis'], opts).then(
    () => true,
    () => false,
  );
  if (!wasRunning) {
    log(`starting Redis: scripts/services.sh up redis (SKEWLESS_REDIS_PORT=${env.SKEWLESS_REDIS_PORT} SKEWLESS_SERVICES_RUN=${env.SKEWLESS_SERVICES_RUN})`);
    // services.sh bounds its own wait (SKEWLESS_SERVICES_TIMEOUT); the timeout here only guards a hang.
    await run('bash', [SERVICES, 'up', 'redis'], { ...opts, timeout: 300_000 });
  }
  const { stdout } = await run('bash', [SERVICES, 'env'], opts);
  const url = /^export REDIS_URL=(\S+)$/m.exec(stdout)?.[1];
  if (url === undefined) throw new Error(`scripts/services.sh env printed no REDIS_URL:\n${stdout}`);
  return {
    url,
    origin: wasRunning ? 'services.sh (already running)' : 'services.sh (started by the bench)',
    release: async () => {
      if (wasRunning) return;
      log('stopping Redis (scripts/services.sh down redis)');
      await run('bash', [SERVICES, 'down', 'redis'], { ...opts, timeout: 120_000 });
    },
  };
}
