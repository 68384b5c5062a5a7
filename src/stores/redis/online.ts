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

  /**
   * Resolves once connected, or rejects after `timeoutMs`. The gateway does not wait for this (it starts
   * not-ready and turns ready when Redis answers); tests and one-shot commands do.
   */
  async waitUntilReady(timeoutMs = 10_000): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error(`Redis did not become ready within ${timeoutMs} ms (status ${this.client.status})`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  async ping(): Promise<void> {
    // Commands are not queued while disconnected (see createRedisClient), so say why instead of
    // surfacing ioredis's "Stream isn't writeable".
    if (this.client.status !== 'ready') throw new Error(`Redis is not connected (status ${this.client.status})`);
    await this.client.ping();
  }

  async close(): Promise<void> {
    if (this.client.status !== 'end') this.client.disconnect();
  }
}
