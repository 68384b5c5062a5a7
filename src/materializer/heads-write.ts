/**
 * Writing heads (heads.ts) in a transaction: a commit's and a backfill chunk's. The rows go by binary COPY,
 * queued on the transaction's connection behind what it already sent.
 *
 * A commit writes the heads of a view whose widest tiles carry heads (tiles.ts, carriesHeads) in up to
 * three COPYs: before its fold, the events of tiles the piece cache last saw spread (a busy entity's, most
 * often), so that PostgreSQL writes them while the batch is folded; once its merges are planned, the
 * events of the other tiles planned to flush (merge-pieces.ts); once they are written, those of tiles that
 * flushed though not planned to, and what flushed tiles carried. The heads of any other view are every
 * event's, sent before the fold.
 */
import type { AggregationView } from '../registry/types.ts';
import type { OnlineEvent } from '../stores/online-pieces.ts';
import type { SqlTransaction } from '../stores/sql/client.ts';
import { headsCopy } from '../stores/sql/heads-tables.ts';
import type { SourceEvent } from './decode.ts';
import { eachHeadEvent, headsRows, viewMembers } from './heads.ts';
import { floorHop } from '../features/windows.ts';
import type { CarriedText, MergedPiece, SentBefore } from './merge-pieces.ts';
import type { PieceCache } from './piece-cache.ts';
import { tileGroups } from './tiles.ts';
import type { EventKeys, TileDelta } from './tiles.ts';

/** Per aggregation view, each event's member in the events' order (undefined: no entity there). */
export type EventMembers = Map<AggregationView, (OnlineEvent | undefined)[]>;

/** Each view's members of a batch's events (their entity keys per view from eventKeys): built once, for the heads, carried tiles and the online raw events. */
export function eventMembers(events: ReadonlyMap<string, readonly SourceEvent[]>, keys: EventKeys): EventMembers {
  const members: EventMembers = new Map();
  for (const [view, viewKeys] of keys) members.set(view, viewMembers(view, events.get(view.source) ?? [], viewKeys));
  return members;
}

/** How a carrying tile's column spells its delta's events (merge-pieces.ts, CarriedText). */
export function carriedText(members: EventMembers): CarriedText {
  return (delta) => {
    const list = members.get(delta.group.view)!;
    let text = '';
    for (const e of delta.events!) text += `${list[e]!.member}\n`;
    return text;
  };
}

/**
 * Sends, before the fold, the heads of every event of the views that do not carry heads, and of the events
 * of carrying tiles the cache last saw spread (PieceCache.spreadStart): one COPY per view. Returns the
 * COPYs' completion, to await before the transaction ends, and which carrying deltas that sent
 * (planMerges' `sentBefore`: the same test, by the delta's entity and start).
 */
export function sendEagerHeads(tx: SqlTransaction, keys: EventKeys, members: EventMembers, events: ReadonlyMap<string, readonly SourceEvent[]>, cache?: PieceCache): { sent: Promise<unknown>; sentBefore: SentBefore } {
  const copies: Promise<number>[] = [];
  for (const [view, viewKeys] of keys) {
    const carrying = tileGroups(view).find((g) => g.carries);
    let sendKeys: readonly (string | undefined)[] = viewKeys;
    let sendMembers = members.get(view)!;
    if (carrying !== undefined) {
      if (cache === undefined) continue;
      const list = events.get(view.source) ?? [];
      // Only the events of tiles left spread: the others' keys and members left out (undefined).
      const spreadKeys = new Array<string | undefined>(viewKeys.length);
      const spreadMembers = new Array<OnlineEvent | undefined>(viewKeys.length);
      let any = false;
      for (let i = 0; i < viewKeys.length; i++) {
        const key = viewKeys[i];
        if (key === undefined) continue;
        const start = cache.spreadStart(carrying, key);
        if (start === undefined || start !== floorHop(list[i]!.eventTs, carrying.widthMs)) continue;
        spreadKeys[i] = key;
        spreadMembers[i] = sendMembers[i];
        any = true;
      }
      if (!any) continue;
      sendKeys = spreadKeys;
      sendMembers = spreadMembers;
    }
    const copy = copyHeads(tx, view, sendKeys, sendMembers);
    if (copy !== undefined) copies.push(copy);
  }
  const sentBefore: SentBefore = (delta) => cache?.spreadStart(delta.group, delta.entityKey) === delta.start;
  return { sent: settledLater(Promise.all(copies)), sentBefore };
}

/** Sends the heads of the events of carrying tiles planned to flush (plannedFlushes); resolves once written. */
export function sendPlannedHeads(tx: SqlTransaction, keys: EventKeys, members: EventMembers, deltas: readonly TileDelta[]): Promise<unknown> {
  const heads = new HeadsByView(keys, members);
  for (const delta of deltas) heads.addEvents(delta.group.view, delta.events!);
  return settledLater(heads.send(tx));
}

/**
 * Sends what the written merges still owe the heads (MergedPiece.heads), queued on the transaction; resolves
 * once written. A carried column that does not parse throws here, before anything is sent.
 */
export function sendOwedHeads(tx: SqlTransaction, keys: EventKeys, members: EventMembers, merged: readonly MergedPiece[]): Promise<unknown> {
  const heads = new HeadsByView(keys, members);
  for (const { group, piece, heads: owed } of merged) {
    if (owed === undefined) continue;
    if (owed.events !== undefined) heads.addEvents(group.view, owed.events);
    if (owed.carried !== null) heads.addCarried(group.view, piece.entityKey, owed.carried);
  }
  return settledLater(heads.send(tx));
}

/** Sends one view's heads rows by COPY, if it has any. */
export function copyHeads(tx: SqlTransaction, view: AggregationView, keys: readonly (string | undefined)[], members: readonly (OnlineEvent | undefined)[]): Promise<number> | undefined {
  const rows = headsRows(view, keys, members);
  if (rows.length === 0) return undefined;
  const { target, data } = headsCopy(view, rows);
  return tx.copyBinary(target, data);
}

/** Awaited by the caller later; until then a failure must not count as an unhandled rejection. */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Members gathered per view for the heads, as the parallel arrays headsRows takes. */
class HeadsByView {
  readonly #byView = new Map<AggregationView, { keys: string[]; members: OnlineEvent[] }>();
  readonly #eventKeys: EventKeys;
  readonly #eventMembers: EventMembers;

  constructor(keys: EventKeys, members: EventMembers) {
    this.#eventKeys = keys;
    this.#eventMembers = members;
  }

  #of(view: AggregationView): { keys: string[]; members: OnlineEvent[] } {
    let out = this.#byView.get(view);
    if (out === undefined) this.#byView.set(view, (out = { keys: [], members: [] }));
    return out;
  }

  /** The batch's events, by index into the source's list. */
  addEvents(view: AggregationView, events: readonly number[]): void {
    const out = this.#of(view);
    const keys = this.#eventKeys.get(view)!;
    const members = this.#eventMembers.get(view)!;
    for (const e of events) {
      out.keys.push(keys[e]!);
      out.members.push(members[e]!);
    }
  }

  /**
   * A carrying tile's column. One that does not parse is CORRUPT_HEAD and fails the commit, as a damaged
   * partial in the same row does (CORRUPT_PARTIAL): only the materializer writes it.
   */
  addCarried(view: AggregationView, entityKey: string, text: string): void {
    const out = this.#of(view);
    eachHeadEvent(view, entityKey, text, (time, member) => {
      out.keys.push(entityKey);
      out.members.push({ time, member });
    });
  }

  send(tx: SqlTransaction): Promise<unknown> {
    const copies: Promise<number>[] = [];
    for (const [view, { keys, members }] of this.#byView) {
      const copy = copyHeads(tx, view, keys, members);
      if (copy !== undefined) copies.push(copy);
    }
    return Promise.all(copies);
  }
}
