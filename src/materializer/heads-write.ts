/**
 * Writing heads (heads.ts) in a transaction: a commit's, before its fold, and a backfill chunk's. The rows
 * go by binary COPY, queued on the transaction's connection behind what it already sent.
 */
import type { AggregationView } from '../registry/types.ts';
import type { OnlineEvent } from '../stores/online-pieces.ts';
import type { SqlTransaction } from '../stores/sql/client.ts';
import { headsCopy } from '../stores/sql/heads-tables.ts';
import type { SourceEvent } from './decode.ts';
import { headsRows, viewMembers } from './heads.ts';
import type { EventKeys } from './tiles.ts';

/** Per aggregation view, each event's member in the events' order (undefined: no entity there). */
export type EventMembers = Map<AggregationView, (OnlineEvent | undefined)[]>;

/**
 * Sends the heads of a batch's events (their entity keys per view from eventKeys): one COPY per view, queued
 * on the transaction. Returns the members built on the way (the online raw events reuse them) and the
 * COPYs' completion, to await before the transaction ends.
 */
export function sendHeads(tx: SqlTransaction, events: ReadonlyMap<string, readonly SourceEvent[]>, keys: EventKeys): { members: EventMembers; sent: Promise<unknown> } {
  const members: EventMembers = new Map();
  const copies: Promise<number>[] = [];
  for (const [view, viewKeys] of keys) {
    const viewEvents = viewMembers(view, events.get(view.source) ?? [], viewKeys);
    members.set(view, viewEvents);
    const copy = copyHeads(tx, view, viewKeys, viewEvents);
    if (copy !== undefined) copies.push(copy);
  }
  const sent = Promise.all(copies);
  // Awaited by the caller later; until then a failure must not count as an unhandled rejection.
  sent.catch(() => {});
  return { members, sent };
}

/** Sends one view's heads rows by COPY, if it has any. */
export function copyHeads(tx: SqlTransaction, view: AggregationView, keys: readonly (string | undefined)[], members: readonly (OnlineEvent | undefined)[]): Promise<number> | undefined {
  const rows = headsRows(view, keys, members);
  if (rows.length === 0) return undefined;
  const { target, data } = headsCopy(view, rows);
  return tx.copyBinary(target, data);
}
