import { replaces } from '../../features/freshness.ts';
import { onlineKey } from '../../features/keys.ts';
import { decodeRecord, encodeRecord } from '../online-encoding.ts';
import type { OnlineEntry, OnlineKey, OnlineRecord, OnlineStore, OnlineWrite } from '../types.ts';

/**
 * The embedded online store: process memory, gone at exit. What `npm start` uses with no REDIS_URL.
 * Same semantics as Redis: records are kept in the same encoding (so values round-trip exactly as they
 * do through Redis, -0 and all), and writes are only-if-newer (a JavaScript turn is atomic).
 */
export class MemoryOnlineStore implements OnlineStore {
  readonly kind = 'memory';
  readonly #records = new Map<string, { time: OnlineRecord; encoded: string }>();

  async read(keys: readonly OnlineKey[]): Promise<OnlineEntry[]> {
    return keys.map((k) => {
      const stored = this.#records.get(onlineKey(k.entity, k.entityKey, k.view));
      return stored === undefined ? null : decodeRecord(stored.encoded);
    });
  }

  async writeIfNewer(writes: readonly OnlineWrite[]): Promise<boolean[]> {
    return writes.map((w) => {
      const key = onlineKey(w.entity, w.entityKey, w.view);
      if (!replaces(w, this.#records.get(key)?.time)) return false;
      this.#records.set(key, { time: { eventTs: w.eventTs, createdTs: w.createdTs, values: {} }, encoded: encodeRecord(w) });
      return true;
    });
  }

  /** Number of (view, entity) records held. */
  get size(): number {
    return this.#records.size;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
