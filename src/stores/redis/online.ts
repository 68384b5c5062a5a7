import type { Redis } from 'ioredis';
import type { OnlineStore } from '../types.ts';
import { createRedisClient } from './client.ts';

/** The Redis online store. */
export class RedisOnlineStore implements OnlineStore {
  readonly kind = 'redis';
  readonly client: Redis;

  constructor(url: string) {
    this.client = createRedisClient(url);
    // Connection errors surface through ping() and per-request errors; without a listener ioredis would
    // print every reconnect failure as an unhandled error event.
    this.client.on('error', () => {});
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    if (this.client.status !== 'end') this.client.disconnect();
  }
}
