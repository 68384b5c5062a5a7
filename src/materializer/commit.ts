/**
 * Writing one batch, exactly once. In one PostgreSQL transaction: lock the batch's partitions' offset rows,
 * drop messages already committed, archive raw events, append history rows, keep dead letters, record the
 * online writes owed (outbox) and move the offsets. Only then the online store, with absolute values
 * (the newest row per entity, written only if newer), after which the outbox entries are cleared.
 *
 * A crash before the commit leaves nothing; after it, the batch is in and its offsets with it, so a
 * redelivery is skipped, and any online write it did not finish is still in the outbox, which the next
 * start makes good from history (flushOutbox).
 */
import { SkewlessError } from '../errors.ts';
import { decodeKey, encodeKey } from '../features/keys.ts';
import type { Registry } from '../registry/registry.ts';
import type { RowView } from '../registry/types.ts';
import type { Stores } from '../stores/open.ts';
import type { OnlineWrite } from '../stores/types.ts';
import { appendHistory, newestRowsSql } from '../stores/sql/history.ts';
import { OUTBOX, addOutboxSql, archiveEventsSql, clearOutboxSql, insertDeadLettersSql, lockOffsetsSql, lockTilesSql, saveOffsetsSql, saveTilesSql } from '../stores/sql/materializer-tables.ts';
import type { StoredTile } from '../stores/sql/materializer-tables.ts';
import type { SqlQueryable } from '../stores/sql/client.ts';
import { aggregatorFor } from '../features/aggregate/aggregators.ts';
import { foldTiles } from './tiles.ts';
import type { TileDelta } from './tiles.ts';
import { newestWrites } from '../ingest/push.ts';
import { storedValue } from '../features/time.ts';
import { groupBy, partitionId, planBatch } from './batch.ts';
import type { BatchWrites, TimeBounds } from './batch.ts';
import type { Decoded, RawMessage } from './decode.ts';

export interface CommitResult extends BatchWrites {
  /** Online writes that were made (or kept a newer value). */
  readonly onlineWrites: number;
}

export async function commitBatch(registry: Registry, stores: Stores, group: string, messages: readonly RawMessage[], decoded: readonly Decoded[], bounds: TimeBounds): Promise<CommitResult> {
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
    await mergeTiles(tx, foldTiles(registry, writes.events));
    const online: OnlineWrite[] = [];
    for (const [name, rows] of writes.rows) {
      const view = registry.view(name) as RowView;
      const { sql, params } = appendHistory(view, registry.entity(view.entity)!, rows);
      await tx.query(sql, params);
      online.push(...newestWrites(view, rows));
    }
    if (writes.dead.length > 0) {
      const { sql, params } = insertDeadLettersSql(writes.dead);
      await tx.query(sql, params);
    }
    if (online.length > 0) {
      const { sql, params } = addOutboxSql(online.map((w) => ({ view: w.view, entityKey: w.entityKey })));
      await tx.query(sql, params);
    }
    if (writes.next.length > 0) {
      const { sql, params } = saveOffsetsSql(group, writes.next);
      await tx.query(sql, params);
    }
    return { writes, online };
  });
  await writeOnline(stores, online);
  return { ...writes, onlineWrites: online.length };
}

/** Merges each tile delta into its stored tile, under the tile's row lock. */
async function mergeTiles(tx: SqlQueryable, deltas: readonly TileDelta[]): Promise<void> {
  const tileId = (entityKey: string, feature: string, start: number) => `${entityKey}\u0000${feature}\u0000${start}`;
  for (const [view, list] of groupBy(deltas, (d) => d.view.name)) {
    const tiles = list.map((d) => ({ entityKey: d.entityKey, feature: d.feature.name, start: d.start, end: d.end }));
    const lock = lockTilesSql(view, tiles, list.map((d) => {
      const aggregator = aggregatorFor(d.feature.aggregation!);
      return aggregator.encode(aggregator.empty());
    }));
    await tx.query(lock.insert.sql, lock.insert.params);
    const stored = await tx.query<{ entity_key: string; feature: string; tile_start: string | number; partial: unknown }>(lock.select.sql, lock.select.params);
    const current = new Map(stored.map((r) => [tileId(r.entity_key, r.feature, Number(r.tile_start)), r.partial]));
    const merged: StoredTile[] = list.map((d) => {
      const aggregator = aggregatorFor(d.feature.aggregation!);
      const partial = aggregator.decode(current.get(tileId(d.entityKey, d.feature.name, d.start)));
      return { entityKey: d.entityKey, feature: d.feature.name, start: d.start, end: d.end, partial: aggregator.encode(aggregator.mergeInto(partial, d.partial)) };
    });
    const { sql, params } = saveTilesSql(view, merged);
    await tx.query(sql, params);
  }
}

async function writeOnline(stores: Stores, writes: readonly OnlineWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const results = await stores.online.writeIfNewer(writes);
  const failed = results.find((r): r is SkewlessError => r instanceof SkewlessError);
  // Committed offline; the outbox keeps what is owed online until a later flush succeeds.
  if (failed !== undefined) throw new SkewlessError('ONLINE_STORE_UNAVAILABLE', `batch committed offline, online write failed: ${failed.message}`, { retriable: true, cause: failed });
  const { sql, params } = clearOutboxSql(writes.map((w) => ({ view: w.view, entityKey: w.entityKey })));
  await stores.offline.query(sql, params);
}

/**
 * Makes good every online write owed: for each outbox entry, the newest history row of that entity,
 * written if newer. Run at start-up and after an online failure. Returns the number of entries flushed.
 */
export async function flushOutbox(registry: Registry, stores: Stores): Promise<number> {
  const owed = await stores.offline.query<{ view: string; entity_key: string }>(`select view, entity_key from ${OUTBOX} order by view, entity_key`);
  const writes: OnlineWrite[] = [];
  for (const [name, entries] of groupBy(owed, (o) => o.view)) {
    const view = registry.view(name);
    if (view?.kind !== 'row') continue;
    writes.push(...(await newestFromHistory(registry, stores, view, entries.map((o) => o.entity_key))));
  }
  await writeOnline(stores, writes);
  // Entries of views no longer defined (or already caught up) are dropped too.
  const { sql, params } = clearOutboxSql(owed.map((o) => ({ view: o.view, entityKey: o.entity_key })));
  await stores.offline.query(sql, params);
  return owed.length;
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
