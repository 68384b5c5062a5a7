/**
 * Store interfaces. Every store has a real implementation and an embedded one with the same semantics;
 * one contract suite (test/contract/) runs against both.
 *
 * Batch first (DataLoader's batch function, Feast's online_read): a store reads many keys in one call and
 * answers one entry per key, in order, each a value or an error. One key failing never fails the others.
 */
import type { SkewlessError } from '../errors.ts';
import type { RowTime } from '../features/freshness.ts';
import type { FeatureRow } from '../ingest/rows.ts';
import type { Registry } from '../registry/registry.ts';
import type { RowView } from '../registry/types.ts';
import type { PiecesWrite } from './online-pieces.ts';
import type { SqlTransaction } from './sql/client.ts';
import type { AsOfPlan } from './sql/point-in-time.ts';

/** One entity row of a historical query: its join key values (as text) and its instant T. */
export interface EntityRowAt {
  readonly keys: Readonly<Record<string, string>>;
  readonly asOf: number;
}

/**
 * The entity rows of a historical query: given inline, or produced by the caller's SELECT (already
 * checked by checkEntitySql), which runs read-only, bounded in rows and in time.
 */
export type EntityInput =
  | { readonly kind: 'rows'; readonly rows: readonly EntityRowAt[] }
  | { readonly kind: 'sql'; readonly sql: string; readonly limit: number | undefined; readonly timeoutMs: number };

export interface Store {
  /** `memory` / `redis` online; `pglite` / `postgres` offline. */
  readonly kind: string;
  /** Resolves when the store answers a trivial request; rejects with the reason otherwise. */
  ping(): Promise<void>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}

/** Raw events dated in [from, to), kept in buckets of `bucketMs` (online-pieces.ts). */
export interface EventRange {
  readonly from: number;
  readonly to: number;
  readonly bucketMs: number;
}

/** Identifies one (view, entity) in the online store. */
export interface OnlineKey {
  readonly view: string;
  /** Entity name, e.g. `User`. */
  readonly entity: string;
  /** Canonical entity key (features/keys.ts). */
  readonly entityKey: string;
  /** An aggregation view's pieces (online-pieces.ts) rather than a row view's record. */
  readonly pieces?: boolean;
  /**
   * For an aggregation view's read: the raw events wanted, dated in [from, to), and the width of the
   * buckets the writer keeps them in (online-pieces.ts); none when absent.
   */
  readonly eventRange?: EventRange;
}

/** The newest row of one view for one entity: its timestamps and every feature value. */
export interface OnlineRecord extends RowTime {
  readonly values: Readonly<Record<string, unknown>>;
}

export interface OnlineWrite extends OnlineKey, OnlineRecord {}

/**
 * An aggregation view's online pieces for one entity, by field name, and the members of its raw events in
 * the range read (online-pieces.ts); empty when none.
 */
export interface OnlinePieces {
  readonly pieces: Readonly<Record<string, string>>;
  readonly events: readonly string[];
}

/**
 * One read answer: for a row view the record or null when nothing is stored; for an aggregation view its
 * pieces; or the error that kept it from being read.
 */
export type OnlineEntry = OnlineRecord | OnlinePieces | null | SkewlessError;

/** Latest feature values per (view, entity), read on the hot path. Redis, or in memory. */
export interface OnlineStore extends Store {
  readonly kind: 'memory' | 'redis';
  /** One entry per key, in order, in one round trip to the store. */
  read(keys: readonly OnlineKey[]): Promise<OnlineEntry[]>;
  /**
   * Writes each record unless the stored one is newer by (eventTs, createdTs) — atomically per key, so
   * concurrent and out-of-order writers can never let an older value win. One entry per write: true when
   * written, false when a newer value was kept, or the error.
   */
  writeIfNewer(writes: readonly OnlineWrite[]): Promise<(boolean | SkewlessError)[]>;
  /**
   * Writes aggregation pieces, each field only when absent or older by version, and prunes as the write
   * says — atomically per hash. One entry per write: the number of fields written, or the error.
   */
  writePieces(writes: readonly PiecesWrite[]): Promise<(number | SkewlessError)[]>;
  /**
   * Where earlier versions kept raw events in sorted sets (Redis): prunes the sets of each view given to
   * the events dated at or after its `eventFrom`, and marks each of those views that has none left, so
   * that reads of it stop looking for them. Returns, per view given, how many of its sets are left.
   * `signal` stops it part way, marking nothing.
   */
  retireSortedSets?(eventFrom: ReadonlyMap<string, number>, signal?: AbortSignal): Promise<Map<string, number>>;
}

/** Feature history, the source of truth, queried point-in-time. PostgreSQL, or embedded PGlite. */
export interface OfflineStore extends Store {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Creates or extends the history table of every row view and the materializer's tables (offsets, dead
   * letters, event archive per source, online outbox); idempotent, run at start-up.
   */
  ensureSchema(registry: Registry): Promise<void>;
  /** Appends rows to a view's history, all or nothing. */
  appendHistory(view: RowView, rows: readonly FeatureRow[]): Promise<void>;
  /**
   * The point-in-time join inside the store, in a READ ONLY transaction: one result row per entity row,
   * in order, with T (`__t`), each view's event time and features as named by the plan
   * (sql/point-in-time.ts), and for entitySql the source row as `__row`.
   */
  asOfJoin(plan: AsOfPlan, entities: EntityInput): Promise<Record<string, unknown>[]>;
  /**
   * The same join, streamed: result rows are fetched from a cursor `batchSize` at a time and handed to
   * `onBatch`, which is awaited before the next fetch, so a slow consumer slows the query instead of
   * filling memory.
   */
  asOfJoinEach(plan: AsOfPlan, entities: EntityInput, batchSize: number, onBatch: (rows: Record<string, unknown>[]) => Promise<void>): Promise<void>;
  /** Runs `fn` in one transaction, committed when it resolves: the materializer's exactly-once commit. */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /** Runs one parameterised statement; for retrieval code and tests. */
  query<T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}
