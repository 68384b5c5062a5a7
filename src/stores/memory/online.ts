import type { OnlineStore } from '../types.ts';

/** The embedded online store: process memory, gone at exit. What `npm start` uses with no REDIS_URL. */
export class MemoryOnlineStore implements OnlineStore {
  readonly kind = 'memory';

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
