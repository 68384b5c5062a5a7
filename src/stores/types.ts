/**
 * Store interfaces. Every store has a real implementation and an embedded one with the same semantics;
 * one contract suite runs against both. The serving issues add the batch read/write methods here; what
 * every store already shares is a health check and an orderly close.
 */

export interface Store {
  /** `memory` / `redis` online; `pglite` / `postgres` offline. */
  readonly kind: string;
  /** Resolves when the store answers a trivial request; rejects with the reason otherwise. */
  ping(): Promise<void>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}

/** Latest feature values per (view, entity), read on the hot path. Redis, or in memory. */
export interface OnlineStore extends Store {
  readonly kind: 'memory' | 'redis';
}

/** Feature history, the source of truth, queried point-in-time. PostgreSQL, or embedded PGlite. */
export interface OfflineStore extends Store {
  readonly kind: 'pglite' | 'postgres';
}
