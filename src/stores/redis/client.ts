/** The ioredis clients every Redis-backed part uses, configured once for the behaviour we rely on. */
import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';

export type RedisMode = 'standalone' | 'cluster';

export interface RedisClientOptions {
  /** Longest wait between reconnection attempts, ms. Default 2000. */
  readonly maxBackoffMs?: number;
  /** How long a connection attempt may take, ms. Default 2000. */
  readonly connectTimeoutMs?: number;
  /**
   * How long one command may take, ms, before it fails. Default 1000. A Redis that answers slowly must
   * not hold requests hostage: its values are served as unavailable instead.
   */
  readonly commandTimeoutMs?: number;
}

/** Either client: the commands we use (GET, MGET, EVALSHA via defineCommand, PING) behave alike. */
export type RedisClient = Redis | Cluster;

export function createRedisClient(url: string, mode: RedisMode, options: RedisClientOptions = {}): RedisClient {
  const maxBackoff = options.maxBackoffMs ?? 2000;
  // Reconnect forever with capped exponential backoff: Redis coming back must heal the gateway without
  // a restart.
  const backoff = (attempt: number) => Math.min(25 * 2 ** Math.min(attempt, 10), maxBackoff);
  const common: RedisOptions = {
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // Fail fast while disconnected instead of queueing: a feature read that waits for a reconnect has
    // already missed its latency budget, and the caller serves the other values with an error code.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 1000,
  };
  if (mode === 'standalone') {
    // Commands issued in the same tick by concurrent requests share one write to the socket.
    return new Redis(url, { ...common, retryStrategy: backoff, enableAutoPipelining: true });
  }
  const seed = new URL(url);
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
    redisOptions: {
      ...common,
      ...(seed.password === '' ? {} : { password: decodeURIComponent(seed.password) }),
      ...(seed.username === '' ? {} : { username: decodeURIComponent(seed.username) }),
    },
    clusterRetryStrategy: backoff,
    // Groups the commands of one tick into one pipeline per node.
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    slotsRefreshTimeout: options.connectTimeoutMs ?? 2000,
  });
}
