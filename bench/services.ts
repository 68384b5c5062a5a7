/**
 * The Redis the benchmarks run against: REDIS_URL when set, otherwise the throw-away one
 * `scripts/services.sh` manages on loopback. We stop it afterwards only if we started it, so a Redis a
 * developer (or a concurrent `npm test`) already had running is left alone.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.ts';

const run = promisify(execFile);
const SERVICES = path.join(ROOT, 'scripts/services.sh');

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

  // `status` exits 0 only when our Redis is running and answers PING.
  const wasRunning = await run('bash', [SERVICES, 'status', 'redis'], { cwd: ROOT }).then(
    () => true,
    () => false,
  );
  if (!wasRunning) {
    log('starting Redis with scripts/services.sh up redis');
    // services.sh bounds its own wait (SKEWLESS_SERVICES_TIMEOUT); the timeout here only guards a hang.
    await run('bash', [SERVICES, 'up', 'redis'], { cwd: ROOT, timeout: 300_000 });
  }
  const { stdout } = await run('bash', [SERVICES, 'env'], { cwd: ROOT });
  const url = /^export REDIS_URL=(\S+)$/m.exec(stdout)?.[1];
  if (url === undefined) throw new Error(`scripts/services.sh env printed no REDIS_URL:\n${stdout}`);
  return {
    url,
    origin: wasRunning ? 'services.sh (already running)' : 'services.sh (started by the bench)',
    release: async () => {
      if (wasRunning) return;
      log('stopping Redis (scripts/services.sh down redis)');
      await run('bash', [SERVICES, 'down', 'redis'], { cwd: ROOT, timeout: 120_000 });
    },
  };
}
