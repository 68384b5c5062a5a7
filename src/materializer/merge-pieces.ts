/**
 * Merging a batch's tile and slice deltas into their stored rows, in the commit's transaction.
 *
 * In two steps, so that the JavaScript can run while PostgreSQL is busy with something else (commit.ts
 * plans while the archive insert runs):
 *
 *   planMerges (no I/O) each delta merged into its row as this process last committed it (piece-cache.ts,
 *                       whose states it changes in place), or into an empty row when none is cached;
 *   writeMerges (SQL)   per table: insert the rows planned as new; lock the rest in key order and write
 *                       each still at the version cached, in one statement. A row whose plan turns out
 *                       wrong (it exists though none was cached, or another writer changed it) is read
 *                       under its lock and merged again from what is stored.
 *
 * Rows are locked in key order, per table, tables in a fixed order, as every commit does: two
 * materializers touching one row (an entity's events split over partitions) wait for each other instead of
 * deadlocking. Merging is exact and order-independent, so which path a row took never shows in its value.
 */
import type { Json } from '../features/aggregate/aggregator.ts';
import { partialIn } from '../features/aggregate/aggregator.ts';
import type { AggregationView } from '../registry/types.ts';
import type { SqlQueryable } from '../stores/sql/client.ts';
import { insertNewPiecesSql, lockPiecesSql, piecesTable, saveIfVersionSql, savePiecesSql, storedPartials } from '../stores/sql/materializer-tables.ts';
import type { PieceKey, StoredPartial } from '../stores/sql/materializer-tables.ts';
import { groupBy } from './batch.ts';
import { pieceId } from './piece-cache.ts';
import type { CachedPiece, PieceCache } from './piece-cache.ts';
import type { PieceGroup, PieceKind, TileDelta } from './tiles.ts';

/** A tile or slice row as merged and committed: what the online store gets, with its version. */
export interface MergedPiece {
  /** Its group, whose kind says whether it is a tile or a slice. */
  readonly group: PieceGroup;
  readonly piece: PieceKey & { readonly version: number };
  /** The row's partials, one aggregator state per feature of the group: what the piece cache keeps. */
  readonly states: readonly unknown[];
  /** The row's partials as JSON ({feature: partial}): serialised once, for both stores. */
  readonly text: string;
  /** Its pieceId (table included), for the piece cache. */
  readonly id: string;
}

/** A row's partials merged: the states, and their `partial` column text. */
interface MergedRow {
  states: unknown[];
  text: string;
}

/** One delta with its planned row: the merge of the delta into `cached`, or into nothing. */
interface Plan extends MergedRow {
  readonly delta: TileDelta;
  readonly key: PieceKey;
  /** pieceId(table, key), built once. */
  readonly id: string;
  readonly cached: CachedPiece | undefined;
}

/** A table's plans (at least one); `table` names where they go. */
export interface TablePlan {
  readonly table: string;
  readonly plans: readonly Plan[];
}

/**
 * The deltas by table (in lock order), each merged into its cached row or an empty one. No I/O, but not
 * pure: a cached row's states take the delta in place (mergeCached), ahead of the commit.
 */
export function planMerges(deltas: readonly TileDelta[], cache?: PieceCache): TablePlan[] {
  const byTable = groupBy(deltas, (d) => tableOf(d));
  return [...byTable.keys()].sort().map((table) => ({
    table,
    plans: byTable.get(table)!.map((delta): Plan => {
      const key = { entityKey: delta.entityKey, width: delta.end - delta.start, start: delta.start };
      const id = pieceId(table, key.entityKey, key.width, key.start);
      const cached = cache?.get(id);
      const { states, text } = cached === undefined ? newRow(delta) : mergeCached(delta, cached.states);
      return { delta, key, id, cached, states, text };
    }),
  }));
}

const tableNames = new WeakMap<AggregationView, { readonly [kind in PieceKind]: string }>();

/** The table of a delta's piece: named once per view, not once per delta. */
function tableOf(delta: TileDelta): string {
  const view = delta.group.view;
  let names = tableNames.get(view);
  if (names === undefined) tableNames.set(view, (names = { tile: piecesTable('tile', view.name), slice: piecesTable('slice', view.name) }));
  return names[delta.group.kind];
}

/**
 * Writes the planned rows and returns them as stored. A row created here starts empty at `baseVersion`
 * (0, or a backfill's base), so it is stored at baseVersion + 1. Partials of features the group no longer
 * has are dropped from the row.
 */
export async function writeMerges(tx: SqlQueryable, tables: readonly TablePlan[], baseVersion = 0): Promise<MergedPiece[]> {
  const out: MergedPiece[] = [];
  for (const { table, plans } of tables) {
    const written: { plan: Plan; version: number }[] = [];
    const toSave: { plan: Plan; version: number }[] = [];
    const toLock = plans.filter((p) => p.cached !== undefined);
    const fresh = plans.filter((p) => p.cached === undefined);
    if (fresh.length > 0) {
      const insert = insertNewPiecesSql(table, fresh.map((p) => p.key), fresh.map((p) => p.text), baseVersion + 1);
      const inserted = new Set((await tx.query<{ entity_key: string; width: number; tile_start: number }>(insert.sql, insert.params)).map((r) => pieceId(table, r.entity_key, r.width, r.tile_start)));
      for (const plan of fresh) {
        if (inserted.has(plan.id)) written.push({ plan, version: baseVersion + 1 });
        else toLock.push(plan);
      }
    }
    const toRead: Plan[] = [];
    if (toLock.length > 0) {
      // Written as planned where the row is still at the version cached; the rest come back to be read.
      const save = saveIfVersionSql(table, toLock.map((p) => p.key), toLock.map((p) => p.text), toLock.map((p) => p.cached?.version ?? null));
      const unsaved = new Set((await tx.query<{ entity_key: string; width: number; tile_start: number }>(save.sql, save.params)).map((r) => pieceId(table, r.entity_key, r.width, r.tile_start)));
      for (const plan of toLock) {
        if (unsaved.has(plan.id)) toRead.push(plan);
        else written.push({ plan, version: plan.cached!.version + 1 });
      }
    }
    if (toRead.length > 0) {
      // Not as planned: read what is stored (creating a row deleted meanwhile), under the lock, and merge again.
      const read = lockPiecesSql(table, toRead.map((p) => p.key), toRead.map((p) => emptyRowText(p.delta.group)), baseVersion);
      await tx.query(read.insert.sql, read.insert.params);
      const stored = new Map((await tx.query<{ entity_key: string; width: number; tile_start: number; partial: StoredPartial; version: number }>(read.select.sql, read.select.params)).map((r) => [pieceId(table, r.entity_key, r.width, r.tile_start), r]));
      for (const plan of toRead) {
        const row = stored.get(plan.id)!;
        Object.assign(plan, mergeStored(plan.delta, storedPartials(row.partial)));
        toSave.push({ plan, version: Number(row.version) + 1 });
      }
    }
    if (toSave.length > 0) {
      const save = savePiecesSql(table, toSave.map((d) => d.plan.key), toSave.map((d) => d.plan.text), toSave.map((d) => d.version));
      await tx.query(save.sql, save.params);
    }
    for (const { plan, version } of [...written, ...toSave]) out.push({ group: plan.delta.group, piece: { ...plan.key, version }, states: plan.states, text: plan.text, id: plan.id });
  }
  return out;
}

/** planMerges then writeMerges, for callers with nothing to overlap (backfill). */
export async function mergePieces(tx: SqlQueryable, deltas: readonly TileDelta[], baseVersion = 0, cache?: PieceCache): Promise<MergedPiece[]> {
  return writeMerges(tx, planMerges(deltas, cache), baseVersion);
}

/**
 * The delta merged into a row's stored partials (JSON by feature name, decoded here), or into an empty row.
 * A feature added to the view after the row was written has no partial in it yet: empty. The delta is
 * left unchanged, for a merge again should the row turn out to differ (writeMerges).
 */
function mergeStored(delta: TileDelta, stored: { readonly [feature: string]: unknown } | undefined): MergedRow {
  const { features, aggregators } = delta.group;
  const states = new Array<unknown>(features.length);
  for (let f = 0; f < features.length; f++) {
    const aggregator = aggregators[f]!;
    const held = partialIn(stored, features[f]!.name);
    states[f] = aggregator.mergeInto(held === undefined ? aggregator.empty() : aggregator.decode(held), delta.partials[f]);
  }
  return { states, text: rowText(delta.group, states) };
}

/**
 * A row of the delta's events alone, for a row not cached: most often a new one. Its states are the
 * delta's own, not copies: they are merged into (mergeCached) only by a later commit, once this one is in,
 * and a merge again (writeMerges, when the row exists after all) reads them without changing them.
 */
function newRow(delta: TileDelta): MergedRow {
  const states = [...delta.partials];
  return { states, text: rowText(delta.group, states) };
}

/**
 * The delta merged into a row as the piece cache holds it, in place: only the delta's events are folded,
 * not the whole row copied or decoded. Until the commit is in, the cache holds a state PostgreSQL does not
 * have yet; a failed commit clears the cache (commit.ts), and a row found changed by another writer is
 * merged again from what is stored, and cached as that.
 */
function mergeCached(delta: TileDelta, cached: readonly unknown[]): MergedRow {
  const { aggregators } = delta.group;
  const states = new Array<unknown>(aggregators.length);
  for (let f = 0; f < aggregators.length; f++) states[f] = aggregators[f]!.mergeInto(cached[f], delta.partials[f]);
  return { states, text: rowText(delta.group, states) };
}

const keyPrefixes = new WeakMap<PieceGroup, readonly string[]>();

/** Per feature of the group, `{"name":` or `,"name":`: what precedes its partial in a row's text, built once. */
function prefixesOf(group: PieceGroup): readonly string[] {
  let prefixes = keyPrefixes.get(group);
  if (prefixes === undefined) keyPrefixes.set(group, (prefixes = group.features.map((f, i) => `${i === 0 ? '{' : ','}${JSON.stringify(f.name)}:`)));
  return prefixes;
}

/**
 * A row's `partial` column text, {feature: encoding}: each feature's JSON serialised once. Joined, not
 * concatenated: `+` builds a rope that both stores' writers would copy flat again (online-pieces.ts).
 */
function rowText(group: PieceGroup, states: readonly unknown[]): string {
  const { aggregators } = group;
  if (aggregators.length === 0) return '{}';
  const prefixes = prefixesOf(group);
  const parts = new Array<string>(2 * aggregators.length + 1);
  for (let f = 0; f < aggregators.length; f++) {
    parts[2 * f] = prefixes[f]!;
    parts[2 * f + 1] = aggregators[f]!.encodeText(states[f]);
  }
  parts[2 * aggregators.length] = '}';
  return parts.join('');
}

const emptyRows = new WeakMap<PieceGroup, string>();

/** A group's empty row as `partial` column text. */
function emptyRowText(group: PieceGroup): string {
  let text = emptyRows.get(group);
  if (text === undefined) emptyRows.set(group, (text = JSON.stringify(emptyPartials(group))));
  return text;
}

/** A group's row partial of no events. */
export function emptyPartials(group: PieceGroup): Record<string, Json> {
  const out: Record<string, Json> = {};
  group.features.forEach((feature, f) => {
    const aggregator = group.aggregators[f]!;
    out[feature.name] = aggregator.encode(aggregator.empty());
  });
  return out;
}

