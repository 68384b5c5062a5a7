/**
 * The tile and slice rows this materializer committed last, so that merging the next batch into them needs
 * no read of their partials: the commit only locks the rows and checks that each version is still the one
 * cached (merge-pieces.ts). A row another writer changed since (a second materializer sharing an entity, a
 * backfill) has another version and is read and merged as if it were not cached.
 *
 * Safe because a version names one committed state of a row: every merge of a row increments it under the
 * row's lock, and a backfill recreates rows above every version the table held. Only committed states go
 * in (`remember` runs after the transaction), so a failed commit leaves the cache as it was.
 *
 * Bounded: at most `capacity` rows, the least recently written dropped first. A row's partials are kept
 * encoded (immutable JSON), so a merge decodes its own copy.
 */
import type { Json } from '../features/aggregate/aggregator.ts';
import type { StoredPiece } from '../stores/sql/materializer-tables.ts';

/** Rows kept by default: the materializer bench (5,000 users, 300 merchants, the example's views) merges into 49,239. */
export const DEFAULT_PIECE_CACHE_ROWS = 100_000;

export interface CachedPiece {
  readonly version: number;
  readonly partial: { readonly [feature: string]: Json };
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

  /** The row `id` (pieceId) of `table` as last committed, if kept. */
  get(table: string, id: string): CachedPiece | undefined {
    return this.#rows.get(cacheKey(table, id));
  }

  /** Records a row as committed in `table` under its `id` (call only after its transaction committed). */
  remember(table: string, id: string, piece: StoredPiece): void {
    if (this.capacity <= 0) return;
    const key = cacheKey(table, id);
    // Re-inserted at the end: Map order is write order, so the first entry is the least recently written.
    this.#rows.delete(key);
    this.#rows.set(key, { version: piece.version, partial: piece.partial });
    if (this.#rows.size > this.capacity) this.#rows.delete(this.#rows.keys().next().value!);
  }

  clear(): void {
    this.#rows.clear();
  }
}

/**
 * A row's identity within its table: built once per row and commit (numbers spelled out cost more than the
 * map lookups they key), then used for the cache and for matching PostgreSQL's answers to the plans.
 */
export const pieceId = (entityKey: string, width: number, start: number): string => `${entityKey}\u0000${width}\u0000${start}`;

const cacheKey = (table: string, id: string) => `${table}\u0000${id}`;
