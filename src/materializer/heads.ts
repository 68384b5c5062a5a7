/**
 * Heads: each aggregation view's archived events grouped by entity, for the one read that needs raw
 * events by entity — a window's head, [floor_hop(T), T), in historical retrieval and in online re-syncs.
 *
 * A commit writes, per view, one row per (entity, bucket) it archived events for: the bucket's start and
 * the events as the online store's buckets spell them (online-pieces.ts: `<time>:<position>|<inputs>`,
 * each followed by a newline). So one index entry covers every event an entity had in a bucket in that
 * commit, where an index on the archive by (join keys, event time) took one per event and view, an entry
 * that costs more as the archive grows (docs/materializer.md#heads). The members are built once per commit
 * and shared with the online raw events, and a historical read parses the very text the online read does.
 *
 * A bucket is the view's finest hop (at least HEADS_MIN_BUCKET_MS): a head is read as whole buckets and
 * cut to its range by event time, never a row twice.
 */
import { SkewlessError } from '../errors.ts';
import { floorHop } from '../features/windows.ts';
import type { AggregationView } from '../registry/types.ts';
import { eachMember, parseOnlineEvent } from '../stores/online-pieces.ts';
import type { OnlineEvent } from '../stores/online-pieces.ts';
import type { SourceEvent } from './decode.ts';
import { rawOnlineEvent } from './online-retention.ts';

/** The narrowest heads bucket: a view with second-long hops still writes one row per minute and entity, not per event. */
export const HEADS_MIN_BUCKET_MS = 60_000;

/** One row of a view's heads: an entity's events in one bucket, from one commit (or one backfill chunk). */
export interface HeadsRow {
  readonly entityKey: string;
  readonly bucketStart: number;
  /** Members, each followed by a newline. */
  readonly events: string;
}

const widths = new WeakMap<AggregationView, number>();

/** The width of a view's heads buckets: its finest hop, at least HEADS_MIN_BUCKET_MS. */
export function headsBucketWidth(view: AggregationView): number {
  let width = widths.get(view);
  if (width === undefined) widths.set(view, (width = Math.max(HEADS_MIN_BUCKET_MS, Math.min(...view.features.map((f) => f.aggregation!.hopMs)))));
  return width;
}

/** Each event's member for the view, in order; undefined where the event has no entity there (keys[i]). */
export function viewMembers(view: AggregationView, events: readonly SourceEvent[], keys: readonly (string | undefined)[]): (OnlineEvent | undefined)[] {
  const out = new Array<OnlineEvent | undefined>(events.length);
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    out[i] = keys[i] === undefined ? undefined : rawOnlineEvent(view, event.eventTs, event, event.fields);
  }
  return out;
}

/** The heads rows of a view's events (pure): its members grouped by entity and bucket. */
export function headsRows(view: AggregationView, keys: readonly (string | undefined)[], members: readonly (OnlineEvent | undefined)[]): HeadsRow[] {
  const width = headsBucketWidth(view);
  // Per entity, per bucket start: the members, joined once at the end.
  const byEntity = new Map<string, Map<number, string[]>>();
  for (let i = 0; i < members.length; i++) {
    const member = members[i];
    if (member === undefined) continue;
    const key = keys[i]!;
    let buckets = byEntity.get(key);
    if (buckets === undefined) byEntity.set(key, (buckets = new Map()));
    const start = floorHop(member.time, width);
    const list = buckets.get(start);
    if (list === undefined) buckets.set(start, [member.member, '\n']);
    else list.push(member.member, '\n');
  }
  const rows: HeadsRow[] = [];
  for (const [entityKey, buckets] of byEntity) for (const [bucketStart, list] of buckets) rows.push({ entityKey, bucketStart, events: list.join('') });
  return rows;
}

/**
 * Each event of a stored heads row, in order: its time, its member and the member's inputs JSON. A
 * member that is not `<time>:<position>|<json>` is CORRUPT_HEAD, named by view and entity: only the
 * materializer writes these rows, so it is damage, and skipping it would serve a window without it.
 */
export function eachHeadEvent(view: AggregationView, entityKey: string, events: string, fn: (time: number, member: string, json: string) => void): void {
  eachMember(events, (member) => {
    const event = parseOnlineEvent(member);
    if (event === undefined) throw corruptHead(view, entityKey, member);
    fn(event.time, member, event.json);
  });
}

/** CORRUPT_HEAD for a member of the view's heads row of `entityKey`. */
export function corruptHead(view: AggregationView, entityKey: string, member: string): SkewlessError {
  return new SkewlessError('CORRUPT_HEAD', `cannot read an event of ${view.name}'s heads for entity ${JSON.stringify(entityKey)}: ${JSON.stringify(member.slice(0, 60))}`, { httpStatus: 500 });
}
