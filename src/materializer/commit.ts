/**
 * Writing one batch, exactly once. In one PostgreSQL transaction: lock the batch's partitions' offset rows,
 * drop messages already committed, archive raw events, append history rows, keep dead letters, record the
 * online writes owed (outbox) and move the offsets. Only then the online store, with absolute values
 * (the newest row per entity, written only if newer), after which the outbox entries are cleared.
 *
 * A crash before the commit leaves nothing; after it, the batch is in and its offsets with it, so a
 * redelivery is skipped, and any online write it did not finish is still in the outbox, which the next
 * start makes good from history (flushOutbox, online-sync.ts).
 *
 * Aggregation views go online as pieces (stores/online-pieces.ts): every tile and slice the batch merged,
 * with its new version, and the batch's recent raw events; see online-retention.ts for which.
 */
import { entityKey } from '../features/keys.ts';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView, RowView } from '../registry/types.ts';
import type { Stores } from '../stores/open.ts';
import type { OnlineWrite } from '../stores/types.ts';
import { encodePiece, eventField, sliceField, tileField } from '../stores/online-pieces.ts';
import type { PieceField, PiecesWrite, PruneBounds } from '../stores/online-pieces.ts';
import { appendHistory } from '../stores/sql/history.ts';
import { addOutboxSql, archiveEventsSql, insertDeadLettersSql, lockOffsetsSql, lockTilesSql, piecesTable, saveOffsetsSql, saveTilesSql } from '../stores/sql/materializer-tables.ts';
import type { StoredTile } from '../stores/sql/materializer-tables.ts';
import type { SqlQueryable } from '../stores/sql/client.ts';
import { aggregatorFor } from '../features/aggregate/aggregators.ts';
import { foldTiles } from './tiles.ts';
import type { TileDelta } from './tiles.ts';
import { newestWrites } from '../ingest/push.ts';
import { eventInputs, feedsOnlineEvents, pruneBounds } from './online-retention.ts';
import { outboxEntries, writeOnline } from './online-sync.ts';
import type { Owed } from './online-sync.ts';
import { groupBy, partitionId, planBatch } from './batch.ts';
import type { BatchWrites, TimeBounds } from './batch.ts';
import type { Decoded, RawMessage } from './decode.ts';

export { flushOutbox } from './online-sync.ts';

export interface CommitResult extends BatchWrites {
  /** Online writes that were made (or kept a newer value). */
  readonly onlineWrites: number;
}

export async function commitBatch(registry: Registry, stores: Stores, group: string, messages: readonly RawMessage[], decoded: readonly Decoded[], bounds: TimeBounds, now = Date.now()): Promise<CommitResult> {
  const partitions = [...new Map(messages.map((m) => [partitionId(m), { topic: m.topic, partition: m.partition }])).values()];
  const { writes, online } = await stores.offline.transaction(async (tx) => {
    const lock = lockOffsetsSql(group, partitions);
    await tx.query(lock.insert.sql, lock.insert.params);
    const locked = await tx.query<{ topic: string; partition: number; next_offset: string | number }>(lock.select.sql, lock.select.params);
    const committed = new Map(locked.map((r) => [partitionId(r), Number(r.next_offset)]));
    const writes = planBatch(messages, decoded, committed, bounds);

    for (const [name, events] of writes.events) {
      const { sql, params } = archiveEventsSql(registry.source(name)!, events);
      await tx.query(sql, params);
    }
    const merged = await mergeTiles(tx, foldTiles(registry, writes.events, now));
    const rows: OnlineWrite[] = [];
    for (const [name, list] of writes.rows) {
      const view = registry.view(name) as RowView;
      const { sql, params } = appendHistory(view, registry.entity(view.entity)!, list);
      await tx.query(sql, params);
      rows.push(...newestWrites(view, list));
    }
    const online: Owed = { rows, pieces: piecesOwed(registry, merged, writes.events, now) };
    if (writes.dead.length > 0) {
      const { sql, params } = insertDeadLettersSql(writes.dead);
      await tx.query(sql, params);
    }
    const owed = outboxEntries(online);
    if (owed.length > 0) {
      const { sql, params } = addOutboxSql(owed);
      await tx.query(sql, params);
    }
    if (writes.next.length > 0) {
      const { sql, params } = saveOffsetsSql(group, writes.next);
      await tx.query(sql, params);
    }
    return { writes, online };
  });
  await writeOnline(stores, online);
  return { ...writes, onlineWrites: online.rows.length + online.pieces.length };
}

/** A tile or slice as merged and committed: what the online store gets, with its version. */
interface MergedPiece {
  readonly kind: TileDelta['kind'];
  readonly view: AggregationView;
  readonly tile: StoredTile;
}

/** Merges each delta into its stored tile or slice, under the row's lock, and returns what was stored. */
export async function mergeTiles(tx: SqlQueryable, deltas: readonly TileDelta[]): Promise<MergedPiece[]> {
  const tileId = (entityKey: string, feature: string, start: number) => `${entityKey}\u0000${feature}\u0000${start}`;
  const out: MergedPiece[] = [];
  for (const list of groupBy(deltas, (d) => `${d.kind}\u0000${d.view.name}`).values()) {
    const { kind, view } = list[0]!;
    const table = piecesTable(kind, view.name);
    const tiles = list.map((d) => ({ entityKey: d.entityKey, feature: d.feature.name, start: d.start, end: d.end }));
    const lock = lockTilesSql(table, tiles, list.map((d) => {
      const aggregator = aggregatorFor(d.feature.aggregation!);
      return aggregator.encode(aggregator.empty());
    }));
    await tx.query(lock.insert.sql, lock.insert.params);
    const stored = await tx.query<{ entity_key: string; feature: string; tile_start: string | number; partial: unknown; version: string | number }>(lock.select.sql, lock.select.params);
    const current = new Map(stored.map((r) => [tileId(r.entity_key, r.feature, Number(r.tile_start)), r]));
    const merged: StoredTile[] = list.map((d) => {
      const aggregator = aggregatorFor(d.feature.aggregation!);
      const row = current.get(tileId(d.entityKey, d.feature.name, d.start))!;
      const partial = aggregator.encode(aggregator.mergeInto(aggregator.decode(row.partial), d.partial));
      return { entityKey: d.entityKey, feature: d.feature.name, start: d.start, end: d.end, partial, version: Number(row.version) + 1 };
    });
    const { sql, params } = saveTilesSql(table, merged);
    await tx.query(sql, params);
    for (const tile of merged) out.push({ kind, view, tile });
  }
  return out;
}

/**
 * The online pieces a committed batch owes, per (view, entity): each merged tile and slice the online
 * store still keeps, with its version, and the batch's events it keeps raw (online-retention.ts).
 */
function piecesOwed(registry: Registry, merged: readonly MergedPiece[], events: BatchWrites['events'], now: number): PiecesWrite[] {
  const writes = new Map<string, { view: AggregationView; entityKey: string; fields: PieceField[] }>();
  const bounds = new Map<AggregationView, { prune: PruneBounds; byFeature: ReadonlyMap<string, PruneBounds['features'][number]> }>();
  const boundsOf = (view: AggregationView) => {
    let b = bounds.get(view);
    if (b === undefined) {
      const prune = pruneBounds(view, now);
      bounds.set(view, (b = { prune, byFeature: new Map(prune.features.map((f) => [f.feature, f])) }));
    }
    return b;
  };
  const fieldsOf = (view: AggregationView, entityKey: string) => {
    const id = `${view.name}\u0000${entityKey}`;
    let write = writes.get(id);
    if (write === undefined) writes.set(id, (write = { view, entityKey, fields: [] }));
    return write.fields;
  };
  for (const { kind, view, tile } of merged) {
    const rule = boundsOf(view).byFeature.get(tile.feature)!;
    if (tile.start < (kind === 'tile' ? rule.tileFrom : rule.sliceFrom)) continue;
    const name = kind === 'tile' ? tileField(tile.feature, tile.start) : sliceField(tile.feature, tile.start);
    fieldsOf(view, tile.entityKey).push({ name, value: encodePiece(tile.version, JSON.stringify(tile.partial)) });
  }
  for (const view of new Set(merged.map((m) => m.view))) {
    const entity = registry.entity(view.entity)!;
    const from = boundsOf(view).prune.eventFrom;
    for (const event of events.get(view.source) ?? []) {
      if (event.eventTs < from || !feedsOnlineEvents(view, event)) continue;
      const key = entityKey(entity, event.fields);
      if (key.ok) fieldsOf(view, key.key).push({ name: eventField(event.eventTs, event), value: encodePiece(0, JSON.stringify(eventInputs(view, event.fields))) });
    }
  }
  return [...writes.values()]
    .filter((w) => w.fields.length > 0)
    .map((w) => ({ view: w.view.name, entity: w.view.entity, entityKey: w.entityKey, pieces: true, fields: w.fields, prune: boundsOf(w.view).prune }));
}
