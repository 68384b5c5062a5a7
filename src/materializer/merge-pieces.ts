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
 * Slices of a lazy slice group are written only once their tile's events spread over two of them
 * (event-span.ts): the tile's plan decides, from its span before and after the merge, which of the batch's
 * slices are written, and whether the one slice its earlier events lie in is written now, from the tile's
 * partials as they were. A tile planned as new that turns out to exist decides again from what is stored,
 * which may add slices to write; so tiles go first, every tile table before every slice table, and a
 * tile's slices are only ever written while its row is locked.
 *
 * Rows are locked in key order, per table, tables in that fixed order, as every commit does: two
 * materializers touching one row (an entity's events split over partitions) wait for each other instead of
 * deadlocking. Merging is exact and order-independent, so which path a row took never shows in its value.
 */
import { SkewlessError } from '../errors.ts';
import type { Json } from '../features/aggregate/aggregator.ts';
import { partialIn } from '../features/aggregate/aggregator.ts';
import { EVENT_SPAN_KEY, NO_EVENTS, spanJson, storedSpan, widenSpan } from '../features/aggregate/event-span.ts';
import type { EventSpan } from '../features/aggregate/event-span.ts';
import type { AggregationView } from '../registry/types.ts';
import type { SqlQueryable } from '../stores/sql/client.ts';
import { insertNewPiecesSql, lockPiecesSql, piecesTable, saveIfVersionSql, savePiecesSql, storedPartials } from '../stores/sql/materializer-tables.ts';
import type { InsertedPieces, PieceKey, StoredPartial } from '../stores/sql/materializer-tables.ts';
import { groupBy } from './batch.ts';
import { chooseLazySlices, firstSliceDelta } from './lazy-slices.ts';
import type { FirstSlice, LazyChoice } from './lazy-slices.ts';
import { admits, pieceId } from './piece-cache.ts';
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
  /** A tile: its event span as stored (undefined: none, a row from before spans). */
  readonly span: EventSpan | undefined;
  /** A tile: its event span before this merge (NO_EVENTS: a new row; undefined: none, a row from before spans). */
  readonly prior: EventSpan | undefined;
  /** Its pieceId (table included), for the piece cache. */
  readonly id: string;
  /** Whether the piece cache takes it (admits). */
  readonly keep: boolean;
}

/** A row's partials merged: the states, their `partial` column text, and (a tile) its span. */
interface MergedRow {
  states: unknown[];
  text: string;
  span: EventSpan | undefined;
}

/** One delta with its planned row: the merge of the delta into `cached`, or into nothing. */
interface Plan extends MergedRow {
  readonly delta: TileDelta;
  readonly key: PieceKey;
  /** pieceId(table, key), built once. */
  readonly id: string;
  readonly cached: CachedPiece | undefined;
  /** A first slice (lazy-slices.ts): its row is replaced by the delta's partials, not merged into. */
  readonly replace: boolean;
  /** A tile's span before the merge: as cached, or none (planned as new), or as read under its lock. */
  prior: EventSpan | undefined;
  /** A tile with lazy slice groups: what was chosen for them as planned (writeMerges may choose again). */
  lazy: TileChoice | undefined;
}

/** A tile's lazy choice, with, once chosen again from its stored row, the slices it owes though not planned. */
type TileChoice = LazyChoice & { readonly owed?: readonly TileDelta[] };

/** A table's plans (at least one); `table` names where they go. */
export interface TablePlan {
  readonly table: string;
  readonly kind: PieceKind;
  readonly plans: Plan[];
}

/** What writeMerges writes: the tables in lock order (tiles first, see the header) and the cache planned from. */
export interface MergePlan {
  readonly tables: readonly TablePlan[];
  readonly cache: PieceCache | undefined;
}

/**
 * The deltas by table (in lock order), each merged into its cached row or an empty one, and the slices of
 * lazy groups as their tile's span says (see the header). No I/O, but not pure: a cached row's states take
 * the delta in place (mergeCached), ahead of the commit.
 */
export function planMerges(deltas: readonly TileDelta[], cache?: PieceCache): MergePlan {
  const tiles: Plan[] = [];
  const slices: TileDelta[] = [];
  for (const delta of deltas) {
    if (delta.group.kind === 'tile') tiles.push(planTile(delta, cache, slices));
    else if (!delta.group.lazy) slices.push(delta);
  }
  const tables: TablePlan[] = [];
  for (const [table, plans] of groupBy(tiles, (p) => tableOf(p.delta))) tables.push({ table, kind: 'tile', plans });
  for (const [table, list] of groupBy(slices, tableOf)) tables.push({ table, kind: 'slice', plans: list.map((d) => planRow(d, table, cache)) });
  return { tables: tables.sort(lockOrder), cache };
}

function lockOrder(a: TablePlan, b: TablePlan): number {
  if (a.kind !== b.kind) return a.kind === 'tile' ? -1 : 1;
  return a.table < b.table ? -1 : a.table > b.table ? 1 : 0;
}

/** A delta's row planned: merged into its cached row, or into an empty one; or, `replace`, its partials alone. */
function planRow(delta: TileDelta, table: string, cache: PieceCache | undefined, replace = false): Plan {
  const id = pieceId(table, delta.entityKey, delta.end - delta.start, delta.start);
  return planFrom(delta, id, replace ? undefined : cache?.get(id), replace);
}

/** planRow once the row's id and cached state are known. */
function planFrom(delta: TileDelta, id: string, cached: CachedPiece | undefined, replace = false): Plan {
  const key = { entityKey: delta.entityKey, width: delta.end - delta.start, start: delta.start };
  const { states, text, span } = cached === undefined ? newRow(delta) : mergeCached(delta, cached);
  return { delta, key, id, cached, replace, prior: cached === undefined ? NO_EVENTS : cached.span, lazy: undefined, states, text, span };
}

/**
 * A tile's row planned, its lazy slices to write added to `slices`: chosen by the tile's span as cached,
 * or, not cached, as if the row were new (writeMerges chooses again if it is not).
 */
function planTile(delta: TileDelta, cache: PieceCache | undefined, slices: TileDelta[]): Plan {
  const table = tableOf(delta);
  if (delta.group.lazySlices.length === 0) return planRow(delta, table, cache);
  const id = pieceId(table, delta.entityKey, delta.end - delta.start, delta.start);
  const cached = cache?.get(id);
  // Before the merge: a first slice takes the tile's partials as they were.
  const lazy = chooseLazySlices(delta, cached === undefined ? NO_EVENTS : cached.span, cached?.states);
  for (const s of lazy.write) slices.push(s);
  const plan = planFrom(delta, id, cached);
  plan.lazy = lazy;
  return plan;
}

const tableNames = new WeakMap<AggregationView, { readonly [kind in PieceKind]: string }>();

/** The table of a group's pieces: named once per view, not once per delta. */
function tableOfGroup(group: PieceGroup): string {
  const view = group.view;
  let names = tableNames.get(view);
  if (names === undefined) tableNames.set(view, (names = { tile: piecesTable('tile', view.name), slice: piecesTable('slice', view.name) }));
  return names[group.kind];
}

const tableOf = (delta: TileDelta): string => tableOfGroup(delta.group);

/**
 * Writes the planned rows and returns them as stored: the tile tables, then the slice tables with the
 * slices the tiles turned out to owe (a tile planned as new that was not, or cached at another version,
 * chooses its lazy slices again from what is stored) and their first slices. A row created here starts
 * empty at `baseVersion` (0, or a backfill's base), so it is stored at baseVersion + 1. Partials of features
 * the group no longer has are dropped from the row.
 */
export async function writeMerges(tx: SqlQueryable, { tables, cache }: MergePlan, baseVersion = 0): Promise<MergedPiece[]> {
  const out: MergedPiece[] = [];
  const tiles = tables.filter((t) => t.kind === 'tile');
  for (const t of tiles) for (const m of await writeTable(tx, t, baseVersion)) out.push(m);
  for (const t of withOwedSlices(tables.filter((t) => t.kind === 'slice'), tiles, cache)) for (const m of await writeTable(tx, t, baseVersion)) out.push(m);
  return out;
}

/**
 * The slice tables with what the tiles' final choices add: slices not planned but owed after all, and
 * first slices, each replacing the batch's plan for the same row (whose events it takes in).
 */
function withOwedSlices(slices: readonly TablePlan[], tiles: readonly TablePlan[], cache: PieceCache | undefined): TablePlan[] {
  const owed: TileDelta[] = [];
  const firsts: FirstSlice[] = [];
  for (const { plans } of tiles) {
    for (const { lazy } of plans) {
      if (lazy === undefined) continue;
      if (lazy.owed !== undefined) for (const d of lazy.owed) owed.push(d);
      for (const f of lazy.firsts) firsts.push(f);
    }
  }
  if (owed.length === 0 && firsts.length === 0) return [...slices];
  const byTable = new Map(slices.map((t) => [t.table, new Map(t.plans.map((p) => [p.id, p]))]));
  const tablePlans = (table: string) => {
    let plans = byTable.get(table);
    if (plans === undefined) byTable.set(table, (plans = new Map()));
    return plans;
  };
  for (const delta of owed) {
    const table = tableOf(delta);
    const plan = planRow(delta, table, cache);
    tablePlans(table).set(plan.id, plan);
  }
  for (const first of firsts) {
    const table = tableOfGroup(first.group);
    const plans = tablePlans(table);
    const id = pieceId(table, first.entityKey, first.group.widthMs, first.start);
    // The batch's own slice there, planned as a merge: taken into the first slice instead.
    const plan = planRow(firstSliceDelta(first, plans.get(id)?.delta), table, cache, true);
    plans.set(id, plan);
  }
  return [...byTable].map(([table, plans]): TablePlan => ({ table, kind: 'slice', plans: [...plans.values()] })).sort(lockOrder);
}

/** One table's plans written (see writeMerges). */
async function writeTable(tx: SqlQueryable, { table, plans }: TablePlan, baseVersion: number): Promise<MergedPiece[]> {
  const written: { plan: Plan; version: number }[] = [];
  const toSave: { plan: Plan; version: number }[] = [];
  const toLock: Plan[] = [];
  const fresh: Plan[] = [];
  const toRead: Plan[] = [];
  for (const p of plans) (p.replace ? toRead : p.cached === undefined ? fresh : toLock).push(p);
  if (fresh.length > 0) {
    const insert = insertNewPiecesSql(table, fresh.map((p) => p.key), fresh.map((p) => p.text), baseVersion + 1);
    const [answer] = await tx.query<InsertedPieces>(insert.sql, insert.params);
    // Every row new (the usual case), or but the few named back: they exist, and are merged below.
    const { keys, widths, starts } = answer!;
    const refused = new Set((keys ?? []).map((k, i) => pieceId(table, k, widths![i]!, starts![i]!)));
    if (answer!.inserted + refused.size !== fresh.length) {
      // Never expected: the commit fails (nothing of it is kept) and is retried.
      throw new SkewlessError('PIECES_INSERT_MISMATCH', `${table}: ${answer!.inserted} rows inserted and ${refused.size} refused, of ${fresh.length} sent`, { retriable: true });
    }
    // (An id is hashed only if some were refused: a new id is a concatenation, flattened to be hashed.)
    for (const plan of fresh) {
      if (refused.size > 0 && refused.has(plan.id)) toLock.push(plan);
      else written.push({ plan, version: baseVersion + 1 });
    }
  }
  if (toLock.length > 0) {
    // Written as planned where the row is still at the version cached; the rest come back to be read.
    const save = saveIfVersionSql(table, toLock.map((p) => p.key), toLock.map((p) => p.text), toLock.map((p) => p.cached?.version ?? null));
    const unsaved = new Set((await tx.query<{ entity_key: string; width: number; tile_start: number }>(save.sql, save.params)).map((r) => pieceId(table, r.entity_key, r.width, r.tile_start)));
    for (const plan of toLock) {
      if (unsaved.size > 0 && unsaved.has(plan.id)) toRead.push(plan);
      else written.push({ plan, version: plan.cached!.version + 1 });
    }
  }
  if (toRead.length > 0) {
    // Not as planned: read what is stored (creating a row deleted meanwhile), under the lock, and merge
    // again; a first slice replaces it.
    const read = lockPiecesSql(table, toRead.map((p) => p.key), toRead.map((p) => emptyRowText(p.delta.group)), baseVersion);
    await tx.query(read.insert.sql, read.insert.params);
    const stored = new Map((await tx.query<{ entity_key: string; width: number; tile_start: number; partial: StoredPartial; version: number }>(read.select.sql, read.select.params)).map((r) => [pieceId(table, r.entity_key, r.width, r.tile_start), r]));
    for (const plan of toRead) {
      const row = stored.get(plan.id)!;
      if (!plan.replace) {
        const partials = storedPartials(row.partial);
        const states = storedStates(plan.delta.group, partials);
        const span = plan.delta.group.kind === 'tile' ? storedSpan(partials) : undefined;
        // Chosen before the merge: first slices take copies of the stored states, which the merge changes.
        if (plan.lazy !== undefined) plan.lazy = chooseAgain(plan.delta, plan.lazy, states, span);
        plan.prior = span;
        Object.assign(plan, mergeStored(plan.delta, states, span));
      }
      toSave.push({ plan, version: Number(row.version) + 1 });
    }
  }
  if (toSave.length > 0) {
    const save = savePiecesSql(table, toSave.map((d) => d.plan.key), toSave.map((d) => d.plan.text), toSave.map((d) => d.version));
    await tx.query(save.sql, save.params);
  }
  const out: MergedPiece[] = [];
  for (const list of [written, toSave]) {
    for (const { plan, version } of list) {
      const { entityKey, width, start } = plan.key;
      // Written as planned without a cached row: inserted, new.
      const created = list === written && plan.cached === undefined;
      out.push({ group: plan.delta.group, piece: { entityKey, width, start, version }, states: plan.states, text: plan.text, span: plan.span, prior: plan.prior, id: plan.id, keep: admits(created, plan.delta) });
    }
  }
  return out;
}

/**
 * A tile's lazy slices chosen again from its row as stored, for a tile not as planned: slices to write now
 * that were not planned are owed; its first slices are those the stored partials give, not the plan's.
 * Slices written as planned stay written (harmless: lazy-slices.ts).
 */
function chooseAgain(tile: TileDelta, planned: LazyChoice, states: readonly unknown[], span: EventSpan | undefined): TileChoice {
  const again = chooseLazySlices(tile, span, states);
  const written = new Set(planned.write);
  return { ...again, owed: again.write.filter((d) => !written.has(d)) };
}

/** planMerges then writeMerges, for callers with nothing to overlap (backfill). */
export async function mergePieces(tx: SqlQueryable, deltas: readonly TileDelta[], baseVersion = 0, cache?: PieceCache): Promise<MergedPiece[]> {
  return writeMerges(tx, planMerges(deltas, cache), baseVersion);
}

/**
 * A stored row's partials (JSON by feature name) decoded, one state per feature of the group. A feature
 * added to the view after the row was written has no partial in it yet: empty.
 */
function storedStates(group: PieceGroup, stored: { readonly [feature: string]: unknown }): unknown[] {
  return group.features.map((feature, f) => {
    const held = partialIn(stored, feature.name);
    return held === undefined ? group.aggregators[f]!.empty() : group.aggregators[f]!.decode(held);
  });
}

/**
 * The delta merged into a row's stored states (storedStates, merged into in place) and span. The delta is
 * left unchanged, for a merge again should the row turn out to differ (writeMerges).
 */
function mergeStored(delta: TileDelta, states: unknown[], span: EventSpan | undefined): MergedRow {
  const { aggregators } = delta.group;
  for (let f = 0; f < aggregators.length; f++) states[f] = aggregators[f]!.mergeInto(states[f], delta.partials[f]);
  return row(delta, states, span);
}

/**
 * A row of the delta's events alone, for a row not cached: most often a new one. Its states are the
 * delta's own, not copies: they are merged into (mergeCached) only by a later commit, once this one is in,
 * and a merge again (writeMerges, when the row exists after all) reads them without changing them.
 */
function newRow(delta: TileDelta): MergedRow {
  return row(delta, [...delta.partials], NO_EVENTS);
}

/**
 * The delta merged into a row as the piece cache holds it, in place: only the delta's events are folded,
 * not the whole row copied or decoded. Until the commit is in, the cache holds a state PostgreSQL does not
 * have yet; a failed commit clears the cache (commit.ts), and a row found changed by another writer is
 * merged again from what is stored, and cached as that.
 */
function mergeCached(delta: TileDelta, cached: CachedPiece): MergedRow {
  const { aggregators } = delta.group;
  const states = new Array<unknown>(aggregators.length);
  for (let f = 0; f < aggregators.length; f++) states[f] = aggregators[f]!.mergeInto(cached.states[f], delta.partials[f]);
  return row(delta, states, cached.span);
}

/** A row of merged states; a tile's with its span: what it held before (`prior`; undefined: unknown, kept so) and the delta's. */
function row(delta: TileDelta, states: unknown[], prior: EventSpan | undefined): MergedRow {
  const span = delta.group.kind === 'tile' && prior !== undefined ? widenSpan(prior, delta) : undefined;
  return { states, text: rowText(delta.group, states, span), span };
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
function rowText(group: PieceGroup, states: readonly unknown[], span: EventSpan | undefined): string {
  const { aggregators } = group;
  if (aggregators.length === 0) return '{}';
  const prefixes = prefixesOf(group);
  const parts = new Array<string>(2 * aggregators.length + 2);
  for (let f = 0; f < aggregators.length; f++) {
    parts[2 * f] = prefixes[f]!;
    parts[2 * f + 1] = aggregators[f]!.encodeText(states[f]);
  }
  parts[2 * aggregators.length] = span === undefined ? '' : `,${SPAN_PREFIX}${spanJson(span)}`;
  parts[2 * aggregators.length + 1] = '}';
  return parts.join('');
}

const SPAN_PREFIX = `${JSON.stringify(EVENT_SPAN_KEY)}:`;

const emptyRows = new WeakMap<PieceGroup, string>();

/** A group's empty row as `partial` column text. */
function emptyRowText(group: PieceGroup): string {
  let text = emptyRows.get(group);
  if (text === undefined) emptyRows.set(group, (text = JSON.stringify(emptyPartials(group))));
  return text;
}

/** A group's row partial of no events; a tile's with its (empty) span. */
export function emptyPartials(group: PieceGroup): Record<string, Json> {
  const out: Record<string, Json> = {};
  group.features.forEach((feature, f) => {
    const aggregator = group.aggregators[f]!;
    out[feature.name] = aggregator.encode(aggregator.empty());
  });
  if (group.kind === 'tile') out[EVENT_SPAN_KEY] = [];
  return out;
}

