/**
 * The tile and slice rows this materializer committed last, so that merging the next batch into them needs
 * no read of their partials: the commit only locks the rows and checks that each version is still the one
 * cached (merge-pieces.ts). A row another writer changed since (a second materializer sharing an entity, a
 * backfill) has another version and is read and merged as if it were not cached.
 *
 * Safe because a version names one committed state of a row: every merge of a row increments it under the
 * row's lock, and a backfill recreates rows above every version the table held.
 *
 * A row's partials are kept decoded, one aggregator state per feature, and the next commit merges its
 * delta into them in place: only the delta's events are folded, with nothing decoded or copied (decoding
 * every cached set and sum at every commit was as much CPU as the merging itself). So while a commit runs,
 * the states it merged are ahead of PostgreSQL, with their versions still those committed; once it is in,
 * `remember` records the new versions. A commit that fails clears the whole cache (commit.ts): the next
 * one reads its rows. One committer at a time per cache.
 *
 * Bounded: at most `capacity` rows; once full, the least recently written tenth is dropped at once. Decoded states take more
 * memory than their JSON (a set of strings is a Map instead of an array).
 */
import type { EventSpan } from '../features/aggregate/event-span.ts';

/** Rows kept by default: the materializer bench (5,000 users, 300 merchants, the example's views) merges into 49,239. */
export const DEFAULT_PIECE_CACHE_ROWS = 100_000;

/** A full cache drops rows down to this share of its capacity. */
const EVICT_TO = 0.9;

export interface CachedPiece {
  readonly version: number;
  /** The row's partials, decoded: one aggregator state per feature of its tile group, in the group's order. */
  readonly states: readonly unknown[];
  /** A tile's event span (event-span.ts); undefined for a slice, or a tile from before spans. */
  readonly span?: EventSpan | undefined;
}

export class PieceCache {
  readonly #rows = new Map<string, CachedPiece>();
  readonly capacity: number;

  constructor(capacity: number = DEFAULT_PIECE_CACHE_ROWS) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#rows.size;
  }

  /** The row `id` (pieceId) as last committed, if kept. */
  get(id: string): CachedPiece | undefined {
    return this.#rows.get(id);
  }

  /** Records the row `id` (pieceId) as committed (call only after its transaction committed). */
  remember(id: string, piece: CachedPiece): void {
    if (this.capacity <= 0) return;
    // Re-inserted at the end: Map order is write order, so the first entry is the least recently written.
    this.#rows.delete(id);
    this.#rows.set(id, piece);
    if (this.#rows.size > this.capacity) this.#evict();
  }

  /**
   * Drops the least recently written tenth, in one pass. Not one row per insert: a Map's iterator walks
   * past the holes deleted entries leave until V8 rebuilds its table, so taking the first key after each
   * of many deletions at the front is quadratic (a third of the materializer's CPU once the cache was full).
   */
  #evict(): void {
    let excess = this.#rows.size - Math.floor(this.capacity * EVICT_TO);
    for (const id of this.#rows.keys()) {
      if (excess-- <= 0) break;
      this.#rows.delete(id);
    }
  }

  clear(): void {
    this.#rows.clear();
  }
}

/**
 * Whether a row just committed goes into the cache. A row merged into one that existed (cached, or read)
 * does: its entity came back. A row the commit created does only if the batch brought it events at two
 * times or more, a sign of a busy entity. With a stream of many entities most rows are created by one
 * event and evicted before their entity comes back: filling and evicting the cache, and the collector moving
 * their states to the old generation, cost the commit's JavaScript up to a quarter of its CPU with a million
 * users (with no cache at all, 26.3 against 35.0 µs per event; docs/benchmarks.md#latest-cache-admission). A created row written again after all is read under its lock once
 * (merge-pieces.ts), as a row from before a restart is, and kept from then on.
 */
export const admits = (created: boolean, delta: { readonly lo: number; readonly hi: number }): boolean => !created || delta.lo < delta.hi;

/**
 * A row's identity, its table included: built once per row and commit (a key string costs more to build
 * and hash than the map lookups it serves), then used for the cache and for matching PostgreSQL's answers
 * to the plans.
 */
export const pieceId = (table: string, entityKey: string, width: number, start: number): string => `${table}\u0000${entityKey}\u0000${width}\u0000${start}`;
