/**
 * The per-request read batcher. Every (view, entity) a GraphQL operation touches — across root fields,
 * aliases, lists and fragments — is collected by one DataLoader and read with one store call per tick,
 * which the stores turn into one round trip. Built per request in context creation, never shared: its
 * cache must not outlive the request's instant T.
 */
import DataLoader from 'dataloader';
import type { OnlineEntry, OnlineKey, OnlinePieces, OnlineRecord, OnlineStore } from '../stores/types.ts';

export type OnlineLoader = DataLoader<OnlineKey, OnlineRecord | OnlinePieces | null, string>;

/** One batch read: the store's `read`, or the same call with metrics around it (ops/online-read-metrics.ts). */
export type OnlineRead = (keys: readonly OnlineKey[]) => Promise<OnlineEntry[]>;

/** `read`: made once at start-up and shared by every request's loader, so a request builds nothing for it. */
export function createOnlineLoader(read: OnlineRead | OnlineStore): OnlineLoader {
  const batch = typeof read === 'function' ? read : (keys: readonly OnlineKey[]) => read.read(keys);
  return new DataLoader<OnlineKey, OnlineRecord | OnlinePieces | null, string>(batch, {
    // Identical (view, entity) pairs asked twice in one request are read once.
    cacheKeyFn: (k) => `${k.view}\u0000${k.entity}\u0000${k.entityKey}`,
    // No cap: the store call is one round trip whatever its size, and request size is bounded upstream.
    maxBatchSize: Infinity,
  });
}
