/** A private redis-server child process, for tests that stop and restart Redis. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { Stores } from '../../src/stores/open.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import type { RedisClientOptions } from '../../src/stores/redis/client.ts';
import { startTestGateway } from './gateway.ts';
import type { TestGateway } from './gateway.ts';
import { loadFixtureRegistry } from './repos.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface PrivateRedis {
  readonly url: string;
  /** Starts (or restarts) the server and resolves once it answers PING. */
  start(): Promise<void>;
  /** Kills the server abruptly (SIGKILL) and resolves once it has exited. */
  kill(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  return {
    url,
    async start() {
      // DEBUG SLEEP (allowed from loopback only) lets a test stall the server on purpose.
      const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local'], { stdio: ['ignore', 'pipe', 'inherit'] });
      child = c;
      // Redis logs this line once it accepts connections: wait for it rather than for a guessed delay.
      await new Promise<void>((resolve, reject) => {
        const lines = createInterface({ input: c.stdout! });
        lines.on('line', (line) => {
          if (line.includes('Ready to accept connections')) resolve();
        });
        c.once('exit', (code) => reject(new Error(`redis-server exited with ${code} before it was ready`)));
      });
    },
    async kill() {
      const c = child;
      if (c === undefined || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await exited;
    },
  };
}

/** A gateway on the fixture repository, reading a private Redis (and an in-memory PGlite). */
export async function gatewayOnPrivateRedis(options: RedisClientOptions = {}): Promise<{ redis: PrivateRedis; stores: Stores; gateway: TestGateway; close(): Promise<void> }> {
  const redis = await privateRedis();
  await redis.start();
  const online = new RedisOnlineStore(redis.url, 'standalone', options);
  await online.waitUntilReady();
  const stores: Stores = { online, offline: await pgliteOfflineStore() };
  const gateway = await startTestGateway(await loadFixtureRegistry(), stores);
  return {
    redis,
    stores,
    gateway,
    close: async () => {
      await gateway.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
      await redis.kill();
    },
  };
}
