/**
 * The online store made good from PostgreSQL, the source of truth: after a batch (writeOnline), for the
 * outbox entries a crash or an online outage left owed (flushOutbox), and for everything
 * (`skewless rebuild-online`, rebuildOnline). Every write is absolute and only-if-newer (rows by their
 * timestamps, aggregation pieces by version), so doing any of this twice, or concurrently with a running
 * materializer, leaves the same state.
 */
import { SkewlessError } from '../errors.ts';
import { decodeKey, encodeKey } from '../features/keys.ts';
import { floorHop } from '../features/windows.ts';
import { storedValue } from '../features/time.ts';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView, RowView } from '../registry/types.ts';
import type { Stores } from '../stores/open.ts';
import type { OnlineEvent, PieceField, PiecesWrite } from '../stores/online-pieces.ts';
import { headsTable } from '../stores/sql/heads-tables.ts';
import { newestRowsSql } from '../stores/sql/history.ts';
import { clearLegacyOutboxSql, clearOutboxSql, owedSql, piecesTable, storedPartialText } from '../stores/sql/materializer-tables.ts';
import type { StoredPartial } from '../stores/sql/materializer-tables.ts';
import type { OnlineWrite } from '../stores/types.ts';
import { eachHeadEvent, headsBucketWidth } from './heads.ts';
import { groupBy } from './batch.ts';
import { groupBounds, pruneBounds, storedPieceField } from './online-retention.ts';
import { pieceGroups } from './tiles.ts';

/** Entities written online per store call (see writeOnline). */
export const ONLINE_WRITES_PER_CALL = 1000;

/** Online writes owed: newest rows of row views, pieces of aggregation views. */
export interface Owed {
  readonly rows: readonly OnlineWrite[];
  readonly pieces: readonly PiecesWrite[];
  /** The outbox token the commit owed them under; a write with none clears no outbox entry. */
  readonly token?: string;
}

/**
 * Writes what is owed, then clears the outbox entries still owed under its token; throws
 * ONLINE_STORE_UNAVAILABLE (entries kept) on failure.
 */
export async function writeOnline(stores: Stores, owed: Owed): Promise<void> {
  if (owed.rows.length === 0 && owed.pieces.length === 0) return;
  // In calls of a bounded size, one after the other: each write's timeout runs from when it is issued, and
  // tens of thousands issued at once (a large commit, or a flush after an outage) queue behind each other
  // long enough to time out, every retry again.
  for (let i = 0; i < Math.max(owed.rows.length, owed.pieces.length); i += ONLINE_WRITES_PER_CALL) {
    const rows = owed.rows.slice(i, i + ONLINE_WRITES_PER_CALL);
    const pieces = owed.pieces.slice(i, i + ONLINE_WRITES_PER_CALL);
    const results = await Promise.all([rows.length === 0 ? [] : stores.online.writeIfNewer(rows), pieces.length === 0 ? [] : stores.online.writePieces(pieces)]);
    const failed = results.flat().find((r): r is SkewlessError => r instanceof SkewlessError);
    // Committed offline; the outbox keeps what is owed online until a later flush succeeds.
    if (failed !== undefined) throw new SkewlessError('ONLINE_STORE_UNAVAILABLE', `online write failed (what is owed stays in the outbox): ${failed.message}`, { retriable: true, cause: failed });
  }
  if (owed.token === undefined) return;
  const { sql, params } = clearOutboxSql([owed.token]);
  await stores.offline.query(sql, params);
}

/**
 * Makes good every online write owed: for each outbox entry, the entity's newest history row (row views)
 * or its pieces (aggregation views), from PostgreSQL. Run at start-up, after an online failure, and every
 * few seconds (with `olderThanMs`) for what commits of a process that died owed (consumer.ts). Returns the
 * number of entities made good.
 */
export async function flushOutbox(registry: Registry, stores: Stores, now = Date.now(), olderThanMs?: number): Promise<number> {
  const read = owedSql(olderThanMs);
  const owed = await stores.offline.query<{ view: string; entity_key: string; token: string }>(read.sql, read.params);
  const rows: OnlineWrite[] = [];
  const pieces: PiecesWrite[] = [];
  let entities = 0;
  for (const [name, entries] of groupBy(owed, (o) => o.view)) {
    const view = registry.view(name);
    // An entity several commits owe is made good once.
    const keys = [...new Set(entries.map((o) => o.entity_key))].sort();
    entities += keys.length;
    // Appended one by one: spread into push, a long outage's entities (over about 125,000) overflow the stack.
    if (view?.kind === 'row') for (const row of await newestFromHistory(registry, stores, view, keys)) rows.push(row);
    else if (view?.kind === 'aggregation') for (const write of await piecesFromOffline(registry, stores, view, keys, now)) pieces.push(write);
  }
  await writeOnline(stores, { rows, pieces });
  // Entries of views no longer defined (or already caught up) are dropped too; what a commit owed
  // meanwhile is under its own token and stays.
  const clear = clearOutboxSql([...new Set(owed.map((o) => o.token))]);
  await stores.offline.query(clear.sql, clear.params);
  const legacy = clearLegacyOutboxSql(owed.map((o) => ({ view: o.view, entityKey: o.entity_key, token: o.token })));
  await stores.offline.query(legacy.sql, legacy.params);
  return entities;
}

/**
 * flushOutbox that reports instead of throwing: true when everything owed is online, false (after
 * `onFailure` with the reason) when the online store still refuses. The consumers call it before a commit.
 */
export async function tryFlushOutbox(registry: Registry, stores: Stores, onFailure: (message: string) => void): Promise<boolean> {
  try {
    await flushOutbox(registry, stores);
    return true;
  } catch (error) {
    onFailure((error as Error).message);
    return false;
  }
}

/** The newest history row of each given entity (or of every entity), as an online write. */
export async function newestFromHistory(registry: Registry, stores: Stores, view: RowView, keys: readonly string[] | undefined): Promise<OnlineWrite[]> {
  const entity = registry.entity(view.entity)!;
  const { sql, params } = newestRowsSql(view, entity, keys?.map((k) => decodeKey(k, entity.joinKeys.length)));
  const rows = await stores.offline.query(sql, params);
  return rows.map((row) => {
    const values: Record<string, unknown> = {};
    for (const f of view.features) values[f.name] = storedValue(row[f.name]);
    return {
      view: view.name,
      entity: view.entity,
      entityKey: encodeKey(entity.joinKeys.map((k) => String(row[k.name]))),
      eventTs: (row.event_timestamp as Date).getTime(),
      createdTs: (row.created_timestamp as Date).getTime(),
      values,
    };
  });
}

/**
 * The online pieces of each given entity (or of every entity) of an aggregation view, as PostgreSQL holds
 * them at `now`: the tiles and slices the online store keeps, with their versions, and the raw events of
 * recent slices, from the view's heads (online-retention.ts, heads.ts).
 */
export async function piecesFromOffline(registry: Registry, stores: Stores, view: AggregationView, keys: readonly string[] | undefined, now: number): Promise<PiecesWrite[]> {
  const bounds = pruneBounds(view, now);
  const writes = new Map<string, { fields: PieceField[]; events: OnlineEvent[] }>();
  const writeOf = (key: string) => {
    let write = writes.get(key);
    if (write === undefined) writes.set(key, (write = { fields: [], events: [] }));
    return write;
  };
  const kept = groupBounds(view, now);
  for (const kind of ['tile', 'slice'] as const) {
    const from = new Map(pieceGroups(view, kind).map((g) => [g.widthMs, kept.get(g)!]));
    const rows = await stores.offline.query<{ entity_key: string; width: number; tile_start: number; partial: StoredPartial; version: number }>(
      `select entity_key, width::float8 as width, tile_start::float8 as tile_start, partial, version::float8 as version from ${piecesTable(kind, view.name)} ` +
        `where width = any($1::bigint[]) and tile_start >= $2${keys === undefined ? '' : ' and entity_key = any($3::text[])'}`,
      [[...from.keys()], Math.min(...from.values()), ...(keys === undefined ? [] : [keys])],
    );
    for (const row of rows) {
      if (row.tile_start < from.get(row.width)!) continue;
      writeOf(row.entity_key).fields.push(storedPieceField(kind, row.width, row.tile_start, row.version, storedPartialText(row.partial)));
    }
  }
  // The recent events from the view's heads, as the commits spelled them (a member carries its position).
  // Heads filled from the archive by the upgrade spell their inputs as PostgreSQL does: a bucket may then
  // hold an event twice in two spellings, which the reader takes once, by its time and position.
  const params: unknown[] = [floorHop(bounds.eventFrom, headsBucketWidth(view))];
  if (keys !== undefined) params.push(keys);
  const heads = await stores.offline.query<{ entity_key: string; events: string }>(
    `select entity_key, events from ${headsTable(view.name)} where bucket_start >= $1${keys === undefined ? '' : ' and entity_key = any($2::text[])'}`,
    params,
  );
  for (const { entity_key: key, events } of heads) {
    eachHeadEvent(view, key, events, (time, member) => {
      if (time >= bounds.eventFrom) writeOf(key).events.push({ time, member });
    });
  }
  // Read back from PostgreSQL: the online store may hold some of these events already (online-pieces.ts).
  return [...writes].map(([key, { fields, events }]) => ({ view: view.name, entity: view.entity, entityKey: key, pieces: true, fields, events, prune: bounds, replay: true }));
}

/**
 * `skewless rebuild-online`: every row view's newest rows and every aggregation view's pieces, written
 * from PostgreSQL. Reports each view as it is done.
 */
export async function rebuildOnline(registry: Registry, stores: Stores, onView: (view: string, writes: number) => void, now = Date.now()): Promise<number> {
  let total = 0;
  for (const view of registry.views) {
    let owed: Owed;
    if (view.kind === 'row') owed = { rows: await newestFromHistory(registry, stores, view, undefined), pieces: [] };
    // Replacing, too, any pieces an earlier version wrote in its per-feature layout (online-pieces.ts).
    else if (view.kind === 'aggregation') owed = { rows: [], pieces: (await piecesFromOffline(registry, stores, view, undefined, now)).map((w) => ({ ...w, dropOutdated: true })) };
    else continue;
    await writeOnline(stores, owed);
    const writes = owed.rows.length + owed.pieces.length;
    total += writes;
    onView(view.name, writes);
  }
  return total;
}
