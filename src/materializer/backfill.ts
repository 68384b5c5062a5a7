/**
 * `skewless backfill VIEW`: an aggregation view's tiles and slices recomputed from the raw-event archive,
 * by the materializer's own code (foldTiles, then mergePieces' lock + merge + save), then its online pieces
 * rewritten from PostgreSQL. For a view added to the schema after its events were archived, a view whose
 * definition changed, or tiles that must be repaired. See docs/backfill.md.
 *
 * 1. Reset, in one transaction. The range [from, to) is aligned outward per feature, to whole tiles of
 *    the feature's hop: a tile is either recomputed whole or left alone, never half of it (its partial
 *    cannot be split back into events). The events read are those of the union of the features' aligned
 *    ranges; each feature keeps only the deltas of its own aligned range. Under a lock that waits for
 *    every in-flight materializer commit and holds off new ones, the transaction records how far each
 *    archive partition goes (the snapshot) and resets every tile and slice of the range to the empty
 *    partial with version `base` = (greatest version of the view's tiles and slices) + 1.
 * 2. Chunks: the snapshot's events in the range, in (event time, topic, partition, offset) order by keyset
 *    pagination over time slabs (archive-reader.ts), each chunk folded and merged in its own transaction.
 *    Events archived after the snapshot are the running materializer's: it merges them into the reset
 *    tiles itself, so nothing is counted twice or lost, whether or not a materializer runs meanwhile.
 * 3. Online: the view's pieces for every entity, from PostgreSQL, through writePieces (only-if-newer).
 *
 * Heads (heads.ts). The reset also deletes the view's heads rows of the range aligned outward to whole
 * heads buckets, and each chunk writes the heads of its events in that range again: every event's once,
 * with the view's inputs as they are now. Rows outside it are left alone, so a view whose finest hop
 * changed (its buckets with it) needs a backfill without --from and --to to read its heads right.
 *
 * Versions. The online store keeps a piece only if its version is newer than the one it holds, and it
 * holds at most the view's greatest version. Every reset or recomputed row is at `base` or above (a tile
 * created during the backfill is seeded at `base` before its merge, which adds one), so each rewritten
 * piece replaces the old one, including a tile left empty because its events are gone (kept as an empty
 * partial rather than deleted, precisely so its stale online copy is overwritten; an empty partial adds
 * nothing to any window). Rows off the feature's current tile grid (its hop changed), rows of features
 * the view no longer has, and slices older than any online read are deleted instead: nothing reads them.
 *
 * Slices. The archive does not keep Kafka message timestamps, so an event is folded into head slices by
 * the backfill's clock alone (`messageTs` = now): every archived event of a head tile any T ≥ now − slack
 * reads by slices, which is what the online store needs (online-retention.ts).
 */
import { SkewlessError } from '../errors.ts';
import { floorHop } from '../features/windows.ts';
import type { Registry } from '../registry/registry.ts';
import { suggest } from '../registry/suggest.ts';
import type { AggregationView, EventSource } from '../registry/types.ts';
import type { Stores } from '../stores/open.ts';
import { OFFSETS, PARTIAL_TYPE, eventsTable, piecesTable } from '../stores/sql/materializer-tables.ts';
import type { SqlQueryable } from '../stores/sql/client.ts';
import { ArchiveReader } from './archive-reader.ts';
import type { Snapshot } from './archive-reader.ts';
import { emptyPartials, mergePieces } from './merge-pieces.ts';
import { groupBounds } from './online-retention.ts';
import { piecesFromOffline, writeOnline } from './online-sync.ts';
import { eventKeys, foldTiles, pieceGroups } from './tiles.ts';
import type { PieceGroup, TileDelta } from './tiles.ts';
import { headsBucketWidth, viewMembers } from './heads.ts';
import { copyHeads } from './heads-write.ts';
import { headsTable } from '../stores/sql/heads-tables.ts';

/** Event times [from, to), epoch ms; either end open when undefined (everything archived). */
export interface BackfillRange {
  readonly from?: number | undefined;
  readonly to?: number | undefined;
}

export interface BackfillOptions {
  readonly range?: BackfillRange;
  /** Archived events read, folded and merged per transaction (--backfill-chunk). */
  readonly chunkEvents: number;
  /** The clock that decides which head slices are computed and which pieces go online. Default Date.now(). */
  readonly now?: number;
  /** Called after each chunk is committed, and once before the first: events done, events in total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface BackfillResult {
  readonly view: string;
  /** Archived events read (the snapshot's events in the range, including any without an entity). */
  readonly events: number;
  /** Tile and slice merges committed. */
  readonly merges: number;
  /** The version every recomputed row starts from. */
  readonly baseVersion: number;
  /** Entities whose online pieces were rewritten. */
  readonly onlineEntities: number;
  /** The range recomputed per feature, aligned outward to its hop; null for an open end. */
  readonly ranges: readonly FeatureRange[];
}

/** One feature's tiles recomputed: tile starts in [from, to), aligned to its hop. */
export interface FeatureRange {
  readonly feature: string;
  readonly hopMs: number;
  readonly from: number | null;
  readonly to: number | null;
}

/** The aggregation view named, or UNKNOWN_VIEW (with the closest name) / NOT_AN_AGGREGATION_VIEW. */
export function aggregationViewFor(registry: Registry, name: string): AggregationView {
  const view = registry.view(name);
  if (view === undefined) {
    throw new SkewlessError('UNKNOWN_VIEW', `unknown feature view "${name}"${suggest(name, registry.views.map((v) => v.name))}`);
  }
  if (view.kind === 'row') {
    throw new SkewlessError(
      'NOT_AN_AGGREGATION_VIEW',
      `view ${name} is a row view: its rows are pushed or streamed precomputed, so there is no event archive to recompute it from. Re-ingest its rows instead (skewless ingest), or run skewless rebuild-online to rewrite its online values`,
    );
  }
  if (view.kind !== 'aggregation') {
    throw new SkewlessError('NOT_AN_AGGREGATION_VIEW', `view ${name} is computed on demand, at request time: it stores nothing to backfill`);
  }
  return view;
}

/** `ceil_hop`: the smallest multiple of `hopMs` not before `timeMs`. */
function ceilHop(timeMs: number, hopMs: number): number {
  const floor = floorHop(timeMs, hopMs);
  return floor === timeMs ? floor : floor + hopMs;
}

/**
 * Each feature's range of tile starts, aligned outward (pure): [floor_hop(from), ceil_hop(to)). Every tile
 * overlapping [from, to) is recomputed whole, from all of its events.
 */
export function featureRanges(view: AggregationView, range: BackfillRange = {}): FeatureRange[] {
  if (range.from !== undefined && range.to !== undefined && range.from >= range.to) {
    throw new SkewlessError('INVALID_RANGE', `backfill range is empty: --from ${new Date(range.from).toISOString()} is not before --to ${new Date(range.to).toISOString()}`);
  }
  return view.features.map((f) => {
    const hopMs = f.aggregation!.hopMs;
    return { feature: f.name, hopMs, from: range.from === undefined ? null : floorHop(range.from, hopMs), to: range.to === undefined ? null : ceilHop(range.to, hopMs) };
  });
}

/** Event times [from, to), epoch ms; null for an open end. */
interface Span {
  readonly from: number | null;
  readonly to: number | null;
}

/** Whether a time lies in a span. */
const inSpan = (span: Span, time: number): boolean => (span.from === null || time >= span.from) && (span.to === null || time < span.to);

/**
 * The heads rows to rewrite (pure): the range aligned outward to the view's heads buckets, so that each
 * is rewritten whole, from all of its events, or left alone.
 */
export function headsRange(view: AggregationView, range: BackfillRange = {}): Span {
  const width = headsBucketWidth(view);
  return { from: range.from === undefined ? null : floorHop(range.from, width), to: range.to === undefined ? null : ceilHop(range.to, width) };
}

/** The event times to read: the union of the features' aligned ranges and the heads'. */
function readRange(ranges: readonly Span[]): Span {
  const from = ranges.some((r) => r.from === null) ? null : Math.min(...ranges.map((r) => r.from!));
  const to = ranges.some((r) => r.to === null) ? null : Math.max(...ranges.map((r) => r.to!));
  return { from, to };
}

/**
 * The range of a group's pieces to recompute. A tile group's features share a hop, so their aligned ranges
 * are the same: the group's. A slice group's features may have different hops; each slice lies inside a
 * tile of each, so the union of their ranges (one interval: each holds [from, to)) recomputes every slice
 * any of them needs, whole, from events the read covers.
 */
function groupRange(group: PieceGroup, ranges: readonly FeatureRange[]): { from: number | null; to: number | null } {
  return readRange(ranges.filter((r) => group.features.some((f) => f.name === r.feature)));
}

export async function backfillView(registry: Registry, stores: Stores, view: AggregationView, options: BackfillOptions): Promise<BackfillResult> {
  const now = options.now ?? Date.now();
  const source = registry.source(view.source)!;
  const ranges = featureRanges(view, options.range);
  const heads = headsRange(view, options.range);
  const read = readRange([...ranges, heads]);
  await stores.offline.ensureSchema(registry);

  const { snapshot, base } = await stores.offline.transaction((tx) => reset(tx, view, source, ranges, heads, read, now));
  const reader = new ArchiveReader(source, read, snapshot);
  const total = await reader.count(stores.offline);
  options.onProgress?.(0, total);

  let done = 0;
  let merges = 0;
  const rangeOf = new Map(pieceGroups(view).map((g) => [g, groupRange(g, ranges)]));
  const inRange = (d: TileDelta) => {
    const r = rangeOf.get(d.group);
    return r !== undefined && inSpan(r, d.start);
  };
  for (;;) {
    const events = await reader.next(stores.offline, options.chunkEvents, now);
    if (events.length === 0) break;
    // foldTiles folds for every view over the source; only this view's deltas in range are merged. Rows
    // created here start at base, so their merge stores base + 1 (see the header).
    const batch = new Map([[source.name, events]]);
    const keys = eventKeys(registry, batch);
    const deltas = foldTiles(registry, batch, now, keys).filter(inRange);
    // The heads of the events in the heads range, whose rows the reset deleted; the others' are kept.
    const headKeys = keys.get(view)!.map((key, i) => (inSpan(heads, events[i]!.eventTs) ? key : undefined));
    await stores.offline.transaction(async (tx) => {
      await copyHeads(tx, view, headKeys, viewMembers(view, events, headKeys));
      merges += (await mergePieces(tx, deltas, base)).length;
    });
    done += events.length;
    options.onProgress?.(done, Math.max(total, done));
  }

  const onlineEntities = await rewriteOnline(registry, stores, view, now);
  return { view: view.name, events: done, merges, baseVersion: base, onlineEntities, ranges };
}

/**
 * Step 1 (see the header): under a lock on the offsets table, which every materializer commit takes first
 * (its offsets insert) and which this mode excludes, so no commit is in flight while the snapshot is taken
 * and the tiles are reset.
 */
async function reset(tx: SqlQueryable, view: AggregationView, source: EventSource, ranges: readonly FeatureRange[], heads: Span, read: Span, now: number): Promise<{ snapshot: Snapshot; base: number }> {
  await tx.query(`lock table ${OFFSETS} in share row exclusive mode`);
  const positions = await tx.query<{ topic: string; partition: number; last: string | number }>(
    `select _topic as topic, _partition as partition, max(_offset) as last from ${eventsTable(source.name)} group by _topic, _partition`,
  );
  const snapshot = { topics: positions.map((p) => p.topic), partitions: positions.map((p) => Number(p.partition)), offsets: positions.map((p) => Number(p.last)) };
  const [{ v }] = (await tx.query<{ v: string | number }>(
    `select greatest((select coalesce(max(version), 0) from ${piecesTable('tile', view.name)}), (select coalesce(max(version), 0) from ${piecesTable('slice', view.name)})) as v`,
  )) as [{ v: string | number }];
  const base = Number(v) + 1;
  const kept = groupBounds(view, now);
  // `column` in [$from, $to), either bound open when null.
  const inRange = (column: string, from: number, to: number) => `($${from}::bigint is null or ${column} >= $${from}) and ($${to}::bigint is null or ${column} < $${to})`;
  // The snapshot's events in the range get their heads again, chunk by chunk; later ones from their commits.
  await tx.query(`delete from ${headsTable(view.name)} where ${inRange('bucket_start', 1, 2)}`, [heads.from, heads.to]);

  for (const kind of ['tile', 'slice'] as const) {
    const table = piecesTable(kind, view.name);
    const groups = pieceGroups(view, kind);
    // Rows of a width no group has any more (a hop changed, or its features left the view): nothing reads them.
    await tx.query(`delete from ${table} where not (width = any($1::bigint[])) and ${inRange('tile_start', 2, 3)}`, [groups.map((g) => g.widthMs), read.from, read.to]);
    for (const group of groups) {
      const r = groupRange(group, ranges);
      const params = [group.widthMs, r.from, r.to];
      if (kind === 'slice') {
        // Slices older than any online read: nothing reads them either.
        await tx.query(`delete from ${table} where width = $1 and ${inRange('tile_start', 2, 3)} and tile_start < $4`, [...params, kept.get(group)!]);
      }
      // Emptied, not deleted, and at base: the stale online copy of every row is overwritten (see the header).
      await tx.query(`update ${table} set partial = $4::${PARTIAL_TYPE}, version = $5 where width = $1 and ${inRange('tile_start', 2, 3)}`, [...params, JSON.stringify(emptyPartials(group)), base]);
    }
  }
  return { snapshot, base };
}

/** Step 3: every entity's pieces of the view, from PostgreSQL, written only-if-newer. */
async function rewriteOnline(registry: Registry, stores: Stores, view: AggregationView, now: number): Promise<number> {
  const pieces = await piecesFromOffline(registry, stores, view, undefined, now);
  try {
    await writeOnline(stores, { rows: [], pieces });
  } catch (error) {
    throw new SkewlessError(
      'ONLINE_STORE_UNAVAILABLE',
      `the tiles of ${view.name} were recomputed and committed in PostgreSQL, but writing them online failed: ${(error as Error).message}. Run skewless rebuild-online once the online store answers`,
      { retriable: true, cause: error },
    );
  }
  return pieces.length;
}
