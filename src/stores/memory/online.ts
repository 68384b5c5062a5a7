import { replaces } from '../../features/freshness.ts';
import { onlineKey } from '../../features/keys.ts';
import { decodeRecord, encodeRecord } from '../online-encoding.ts';
import { applyPiecesWrite } from '../online-pieces.ts';
import type { OnlineEvent, PiecesWrite } from '../online-pieces.ts';
import type { OnlineEntry, OnlineKey, OnlineRecord, OnlineStore, OnlineWrite } from '../types.ts';

/** An aggregation hash and its raw events (by `<time>:<position>`, the last written), which expire together. */
interface Pieces {
  readonly fields: Map<string, string>;
  readonly events: Map<string, OnlineEvent>;
  expiresAt: number;
}

/**
 * The embedded online store: process memory, gone at exit. What `npm start` uses with no REDIS_URL.
 * Same semantics as Redis: records are kept in the same encoding (so values round-trip exactly as they
 * do through Redis, -0 and all), and writes are only-if-newer (a JavaScript turn is atomic).
 */
export class MemoryOnlineStore implements OnlineStore {
  readonly kind = 'memory';
  readonly #records = new Map<string, { time: OnlineRecord; encoded: string }>();
  readonly #hashes = new Map<string, Pieces>();

  async read(keys: readonly OnlineKey[]): Promise<OnlineEntry[]> {
    return keys.map((k) => {
      const key = onlineKey(k.entity, k.entityKey, k.view);
      if (k.pieces === true) {
        const hash = this.#hash(key, Date.now());
        const events: string[] = [];
        const range = k.eventRange;
        if (hash !== undefined && range !== undefined) for (const e of hash.events.values()) if (e.time >= range.from && e.time < range.to) events.push(e.member);
        return { pieces: Object.fromEntries(hash?.fields ?? []), events };
      }
      const stored = this.#records.get(key);
      return stored === undefined ? null : decodeRecord(stored.encoded);
    });
  }

  async writePieces(writes: readonly PiecesWrite[]): Promise<number[]> {
    return writes.map((w) => {
      const key = onlineKey(w.entity, w.entityKey, w.view);
      // Expiry runs on this process's clock, as Redis's runs on the server's, not on the writer's.
      const now = Date.now();
      let hash = this.#hash(key, now);
      if (hash === undefined) this.#hashes.set(key, (hash = { fields: new Map(), events: new Map(), expiresAt: Infinity }));
      const written = applyPiecesWrite(hash.fields, hash.events, w);
      // At least expireMs after this write and at most everyMs more, as in Redis (PruneBounds.expireMs).
      if (w.prune.expireMs > 0) hash.expiresAt = now + w.prune.expireMs + w.prune.everyMs;
      return written;
    });
  }

  /** The hash at `key`, dropped (as Redis would have expired it) when past its expiry at `now`. */
  #hash(key: string, now: number): Pieces | undefined {
    const hash = this.#hashes.get(key);
    if (hash !== undefined && hash.expiresAt <= now) {
      this.#hashes.delete(key);
      return undefined;
    }
    return hash;
  }

  async writeIfNewer(writes: readonly OnlineWrite[]): Promise<boolean[]> {
    return writes.map((w) => {
      const key = onlineKey(w.entity, w.entityKey, w.view);
      if (!replaces(w, this.#records.get(key)?.time)) return false;
      this.#records.set(key, { time: { eventTs: w.eventTs, createdTs: w.createdTs, values: {} }, encoded: encodeRecord(w) });
      return true;
    });
  }

  /** Number of (view, entity) records and aggregation hashes held. */
  get size(): number {
    return this.#records.size + this.#hashes.size;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
