/**
 * The services the benchmarks run against: REDIS_URL / DATABASE_URL when set, otherwise throw-away ones
 * from `scripts/services.sh` on loopback, stopped afterwards only if this run started them.
 *
 * By default that Redis is the bench's own (port 63798, its own run directory), not the one `npm test`
 * uses: a test run that started its Redis stops it when it ends — mid-benchmark, if we shared it — and its
 * traffic would land in our numbers; likewise PostgreSQL on 54328 and Kafka on 19192 (KAFKA_BROKERS).
 * SKEWLESS_REDIS_PORT / SKEWLESS_PG_PORT / SKEWLESS_KAFKA_PORT / SKEWLESS_SERVICES_RUN, when set, win.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.ts';

const run = promisify(execFile);
const SERVICES = path.join(ROOT, 'scripts/services.sh');
const BENCH_REDIS_PORT = '63798';

/** The services a benchmark can ask for, with the variable that points at one of the user's own. */
const SERVICE_VARS = { redis: 'REDIS_URL', postgres: 'DATABASE_URL', kafka: 'KAFKA_BROKERS' } as const;
export type BenchServiceName = keyof typeof SERVICE_VARS;

/** The bench's own ports, away from the ones `npm test` uses. */
// Kafka's KRaft controller takes the port after the broker's (19193), unless SKEWLESS_KAFKA_CONTROLLER_PORT says otherwise.
const BENCH_PORTS: Record<BenchServiceName, [string, string]> = { redis: ['SKEWLESS_REDIS_PORT', BENCH_REDIS_PORT], postgres: ['SKEWLESS_PG_PORT', '54328'], kafka: ['SKEWLESS_KAFKA_PORT', '19192'] };

export interface BenchService {
  readonly url: string;
  /** Where the URL came from, for the report: the variable, `services.sh (started)` or `services.sh (already running)`. */
  readonly origin: string;
  /** Stops the service if this run started it; otherwise does nothing. */
  release(): Promise<void>;
}

export async function benchService(name: BenchServiceName, log: (line: string) => void): Promise<BenchService> {
  const variable = SERVICE_VARS[name];
  const fromEnv = process.env[variable];
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, origin: variable, release: async () => {} };

  const [portVar, port] = BENCH_PORTS[name];
  const env = {
    ...process.env,
    [portVar]: process.env[portVar] ?? port,
    SKEWLESS_SERVICES_RUN: process.env.SKEWLESS_SERVICES_RUN ?? path.join(os.tmpdir(), 'skewless-bench-services'),
  };
  const opts = { cwd: ROOT, env };
  // `status` exits 0 only when the service is running and answers.
  const wasRunning = await run('bash', [SERVICES, 'status', name], opts).then(
    () => true,
    () => false,
  );
  if (!wasRunning) {
    log(`starting ${name}: scripts/services.sh up ${name} (${portVar}=${env[portVar]} SKEWLESS_SERVICES_RUN=${env.SKEWLESS_SERVICES_RUN})`);
    // services.sh bounds its own wait (SKEWLESS_SERVICES_TIMEOUT); the timeout here only guards a hang.
    await run('bash', [SERVICES, 'up', name], { ...opts, timeout: 300_000 });
  }
  const { stdout } = await run('bash', [SERVICES, 'env'], opts);
  const url = new RegExp(`^export ${variable}=(\\S+)$`, 'm').exec(stdout)?.[1];
  if (url === undefined) throw new Error(`scripts/services.sh env printed no ${variable}:\n${stdout}`);
  return {
    url,
    origin: wasRunning ? 'services.sh (already running)' : 'services.sh (started by the bench)',
    release: async () => {
      if (wasRunning) return;
      log(`stopping ${name} (scripts/services.sh down ${name})`);
      await run('bash', [SERVICES, 'down', name], { ...opts, timeout: 120_000 });
    },
  };
}
