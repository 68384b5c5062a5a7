/** The ioredis client every Redis-backed part uses, configured once for the behaviour we rely on. */
import { Redis } from 'ioredis';

export interface RedisClientOptions {
  /** Longest wait between reconnection attempts, ms. Default 2000. */
  readonly maxBackoffMs?: number;
  /** How long a connection attempt may take, ms. Default 2000. */
  readonly connectTimeoutMs?: number;
}

export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const maxBackoff = options.maxBackoffMs ?? 2000;
  return new Redis(url, {
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // Reconnect forever with capped exponential backoff: Redis coming back must heal the gateway
    // without a restart.
    retryStrategy: (attempt) => Math.min(25 * 2 ** Math.min(attempt, 10), maxBackoff),
    // Fail fast while disconnected instead of queueing: a feature read that waits for a reconnect has
    // already missed its latency budget, and the caller serves the other values with an error code.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
  });
}
