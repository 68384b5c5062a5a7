/**
 * Writing one batch, exactly once. In one PostgreSQL transaction: lock the batch's partitions' offset rows,
 * drop messages already committed, archive raw events (archive.ts) and their heads per view (heads.ts),
 * merge tiles and slices, append history rows, keep dead letters, record the
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
import { randomUUID } from 'node:crypto';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView, RowView } from '../registry/types.ts';
import type { Stores } from '../stores/open.ts';
import type { OnlineWrite } from '../stores/types.ts';
import type { OnlineEvent, PieceField, PiecesWrite, PruneBounds } from '../stores/online-pieces.ts';
import { appendHistory } from '../stores/sql/history.ts';
import { addOutboxSql, insertDeadLettersSql, lockOffsetsSql, saveOffsetsSql } from '../stores/sql/materializer-tables.ts';
import { archiveEvents } from './archive.ts';
import { eventKeys, foldTilesYielding } from './tiles.ts';
import type { EventKeys, TileDelta } from './tiles.ts';
import { planMerges, writeMerges } from './merge-pieces.ts';
import type { MergedPiece } from './merge-pieces.ts';
import type { PieceCache } from './piece-cache.ts';
import { newestWrites } from '../ingest/push.ts';
import { feedsOnlineEvents, groupBounds, pruneBounds, storedPieceField } from './online-retention.ts';
import { sendHeads } from './heads-write.ts';
import { entitiesHeldRaw, readEventsAt, spreadTimes } from './raw-events-owed.ts';
import type { EventMembers } from './heads-write.ts';
import { writeOnline } from './online-sync.ts';
import type { Owed } from './online-sync.ts';
import { partitionId, planBatch } from './batch.ts';
import type { BatchWrites, TimeBounds } from './batch.ts';
import type { Decoded, RawMessage } from './decode.ts';

export { flushOutbox } from './online-sync.ts';

export interface CommitResult extends BatchWrites {
  /** Online writes that were made (or kept a newer value). */
  readonly onlineWrites: number;
}

export async function commitBatch(registry: Registry, stores: Stores, group: string, messages: readonly RawMessage[], decoded: readonly Decoded[], bounds: TimeBounds, now = Date.now(), cache?: PieceCache): Promise<CommitResult> {
  const committed = await commitOffline(registry, stores, group, messages, decoded, bounds, now, cache);
  const online = await committed.online();
  await writeOnline(stores, online);
  return { ...committed.writes, onlineWrites: online.rows.length + online.pieces.length };
}

/**
 * The PostgreSQL half of commitBatch: once it resolves the batch is in, and every entity it owes online is
 * in the outbox under one token. `online()` works out those writes (for writeOnline, which may overlap the
 * next batch's transaction: online writes are absolute and only-if-newer, so their order does not matter);
 * it is a function so that the work happens off the transaction, whenever the caller gets to it, and
 * it yields to the event loop as it goes (piecesOwed). `onPlanned` is called once the batch is folded and
 * its merges planned, when the process has little left to do but wait for PostgreSQL's row statements.
 */
export async function commitOffline(registry: Registry, stores: Stores, group: string, messages: readonly RawMessage[], decoded: readonly Decoded[], bounds: TimeBounds, now = Date.now(), cache?: PieceCache, onPlanned?: () => void): Promise<{ writes: BatchWrites; online: () => Promise<Owed> }> {
  const token = randomUUID();
  const partitions = [...new Map(messages.map((m) => [partitionId(m), { topic: m.topic, partition: m.partition }])).values()];
  const result = await clearingCacheOnFailure(cache, () => stores.offline.transaction(async (tx) => {
    const lock = lockOffsetsSql(group, partitions);
    await tx.query(lock.insert.sql, lock.insert.params);
    const locked = await tx.query<{ topic: string; partition: number; next_offset: string | number }>(lock.select.sql, lock.select.params);
    const committed = new Map(locked.map((r) => [partitionId(r), Number(r.next_offset)]));
    const writes = planBatch(messages, decoded, committed, bounds);

    // The archive insert is PostgreSQL's largest piece of work in a commit. node-postgres sends it at once,
    // and the batch is folded and merged in JavaScript while the database writes it, on the other core.
    const archiving = await archiveEvents(tx, registry, writes.events);
    // Events another consumer group archived first are in the tiles already (archive.ts): only when some
    // may be does the fold wait for the insert to say which.
    const events = archiving.allNew ? writes.events : await archiving.archived;
    const keys = eventKeys(registry, events);
    // Queued behind the archive's COPY, so that PostgreSQL writes the heads while the batch is folded
    // here. The fold pauses now and then, so that the driver sends each statement soon after the one
    // before it ends (tiles.ts, foldTilesYielding).
    const heads = sendHeads(tx, events, keys);
    const deltas = await foldTilesYielding(registry, events, now, keys, nextTurn);
    const planned = planMerges(deltas, cache);
    // From here the process mostly waits on PostgreSQL (the rows below): a good time for other work.
    onPlanned?.();
    const owedEntities = entitiesOf(deltas);
    await archiving.archived;
    await heads.sent;
    const merged = await writeMerges(tx, planned);
    const rows: OnlineWrite[] = [];
    for (const [name, list] of writes.rows) {
      const view = registry.view(name) as RowView;
      const { sql, params } = appendHistory(view, registry.entity(view.entity)!, list);
      await tx.query(sql, params);
      const newest = newestWrites(view, list);
      for (const w of newest) rows.push(w);
      owedEntities.set(view.name, newest.map((w) => w.entityKey));
    }
    if (writes.dead.length > 0) {
      const { sql, params } = insertDeadLettersSql(writes.dead);
      await tx.query(sql, params);
    }
    if (owedEntities.size > 0) {
      const { sql, params } = addOutboxSql(owedEntities, token);
      await tx.query(sql, params);
    }
    if (writes.next.length > 0) {
      const { sql, params } = saveOffsetsSql(group, writes.next);
      await tx.query(sql, params);
    }
    return { writes, rows, merged, events, keys, members: heads.members };
  }));
  // Only now, committed: the versions the merged states have in PostgreSQL (piece-cache.ts).
  if (cache !== undefined) for (const m of result.merged) if (m.keep) cache.remember(m.id, { version: m.piece.version, states: m.states, span: m.span });
  const { writes, rows, merged, events, keys, members } = result;
  return { writes, online: async () => ({ rows, pieces: await piecesOwed(stores.offline, merged, events, keys, members, now), token }) };
}

/**
 * The transaction, clearing the piece cache if it fails: the merge changed the cached states of its rows
 * in place, ahead of a commit that is not going to be (piece-cache.ts).
 */
async function clearingCacheOnFailure<T>(cache: PieceCache | undefined, transaction: () => Promise<T>): Promise<T> {
  try {
    return await transaction();
  } catch (error) {
    cache?.clear();
    throw error;
  }
}

/** The entities each aggregation view's deltas touch: what the commit may owe online. */
function entitiesOf(deltas: readonly TileDelta[]): Map<string, string[]> {
  const byView = new Map<string, Set<string>>();
  for (const d of deltas) {
    let keys = byView.get(d.group.view.name);
    if (keys === undefined) byView.set(d.group.view.name, (keys = new Set()));
    keys.add(d.entityKey);
  }
  return new Map([...byView].map(([view, keys]) => [view, [...keys]]));
}

/** Pieces and events piecesOwed goes through between yields to the event loop. */
const OWED_PER_TURN = 4000;

/** Resolves on the event loop's next turn, after the I/O that is ready: PostgreSQL's answers among it. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The online pieces a committed batch owes, per (view, entity): each merged tile and slice the online
 * store still keeps, with its version, and the batch's events it keeps raw (online-retention.ts): those
 * of tiles that may straddle a T, with the earlier events of tiles that now may, read back from the heads
 * (raw-events-owed.ts).
 *
 * It runs while the next commit's transaction does, and a busy commit owes tens of thousands of pieces:
 * in one go it would hold up that transaction's next statement by tens of milliseconds, so it yields
 * every OWED_PER_TURN items.
 */
async function piecesOwed(offline: Stores['offline'], merged: readonly MergedPiece[], events: BatchWrites['events'], keys: EventKeys, members: EventMembers, now: number): Promise<PiecesWrite[]> {
  // Per view, then per entity: nested maps rather than a joined key string per piece.
  const writes = new Map<AggregationView, Map<string, { fields: PieceField[]; events: OnlineEvent[] }>>();
  const bounds = new Map<AggregationView, { prune: PruneBounds; groups: ReturnType<typeof groupBounds> }>();
  const boundsOf = (view: AggregationView) => {
    let b = bounds.get(view);
    if (b === undefined) bounds.set(view, (b = { prune: pruneBounds(view, now), groups: groupBounds(view, now) }));
    return b;
  };
  const writeOf = (view: AggregationView, entityKey: string) => {
    let byEntity = writes.get(view);
    if (byEntity === undefined) writes.set(view, (byEntity = new Map()));
    let write = byEntity.get(entityKey);
    if (write === undefined) byEntity.set(entityKey, (write = { fields: [], events: [] }));
    return write;
  };
  for (let m = 0; m < merged.length; m++) {
    if (m % OWED_PER_TURN === OWED_PER_TURN - 1) await nextTurn();
    const { group, piece, text } = merged[m]!;
    if (piece.start < boundsOf(group.view).groups.get(group)!) continue;
    writeOf(group.view, piece.entityKey).fields.push(storedPieceField(group.kind, piece.width, piece.start, piece.version, text));
  }
  const held = entitiesHeldRaw(merged);
  const spread = spreadTimes(merged);
  for (const view of new Set(merged.map((m) => m.group.view))) {
    const from = boundsOf(view).prune.eventFrom;
    const list = events.get(view.source) ?? [];
    const viewMembers = members.get(view)!;
    const eventKeys = keys.get(view)!;
    const viewHeld = held.get(view);
    for (let i = 0; i < list.length; i++) {
      if (i % OWED_PER_TURN === OWED_PER_TURN - 1) await nextTurn();
      const event = list[i]!;
      const member = viewMembers[i];
      if (member === undefined || event.eventTs < from || !feedsOnlineEvents(view, event)) continue;
      const key = eventKeys[i]!;
      if (viewHeld?.has(key) === true) writeOf(view, key).events.push(member);
    }
    // Tiles that held events of one time and now hold more: those earlier events, from the heads.
    const wanted = (spread.get(view) ?? []).filter((w) => w.time >= from);
    for (const [entityKey, earlier] of await readEventsAt(offline, view, wanted)) writeOf(view, entityKey).events.push(...earlier);
  }
  const out: PiecesWrite[] = [];
  for (const [view, byEntity] of writes) {
    const { prune } = boundsOf(view);
    for (const [entityKey, { fields, events }] of byEntity) out.push({ view: view.name, entity: view.entity, entityKey, pieces: true, fields, events, prune });
  }
  return out;
}
