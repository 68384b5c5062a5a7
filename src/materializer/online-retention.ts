/**
 * Which aggregation pieces the online store gets and how long it keeps them (pure). The gateway reads a
 * window at T ≈ now as completed tiles, the slices of T's head tile level by level, and the raw events of
 * T's current slice (serving/aggregation-online.ts), so online needs, per entity and feature:
 *
 *   tiles     from retainFrom (the oldest any T ≥ now − slack reads) on;
 *   slices    of the head tile of any T ≥ now − slack, at every level;
 *   events    of the current slice of any such T.
 *
 * `ONLINE_CLOCK_SLACK_MS` is how far apart the clocks of producers, materializers and gateways may be. Which
 * events feed slices and raw online events is judged by the event's Kafka message timestamp (as lateness
 * is), so every replay and every materializer decides alike: an event feeds its head slices when its tile
 * was the head tile, or later, slack included, when it was produced. A later-arriving event is in an older
 * tile than any T after its arrival reads by slices, so its tile (always merged) covers it.
 *
 * Memory per entity and aggregation view in the online store, at most: per tile group (the features of one
 * hop), window/hop + 2 tiles for its longest window (plus tiles dated ahead by the allowed future skew);
 * per slice level, the slices of two head tiles or slices of the level above (2 × hop ÷ slice at the first
 * level, 120 with the default slice; ≤ 2 × 60 below it); and the raw events of the buckets a read at any
 * T ≥ now − slack may reach (online-pieces.ts, bucketExpiry): the last finest slice plus the slack (2
 * minutes: kept for a gateway whose clock lags, not read) when the view's features share their finest
 * width, up to the widest of them plus a bucket and the slack otherwise. Each tile or slice holds one partial
 * per feature of its group (moments ~100 bytes, HLL ≤ 16 KiB, a percentile sketch ~16 bytes per occupied
 * bucket, COUNT_DISTINCT its distinct values). Pruning runs at most once per `PRUNE_EVERY_MS` per entity,
 * so up to that much more may linger.
 */
import { rawEventBucketWidth, rawEventWidths, rawEventsFrom, viewRetainFrom } from '../features/aggregate/tiles.ts';
import { floorHop } from '../features/windows.ts';
import type { AggregationView } from '../registry/types.ts';
import { encodePiece, onlineEvent, sliceField, tileField } from '../stores/online-pieces.ts';
import type { OnlineEvent, PieceField, PruneBounds } from '../stores/online-pieces.ts';
import { sliceGroups, tileGroups } from './tiles.ts';
import type { PieceGroup, PieceKind } from './tiles.ts';

/** How far apart producer, materializer and gateway clocks may be for online windows to stay exact. */
export const ONLINE_CLOCK_SLACK_MS = 120_000;

/** How often, at most, a write prunes an entity's online pieces. */
export const PRUNE_EVERY_MS = 60_000;

/** The start of the oldest head tile, over the given hops, of any T ≥ `at` − slack. */
function oldestHead(hops: readonly number[], at: number): number {
  let from = Infinity;
  for (const hop of hops) from = Math.min(from, floorHop(at - ONLINE_CLOCK_SLACK_MS, hop));
  return from;
}

/** The start of the oldest slice any T ≥ `at` − slack reads raw events from, over the view's features. */
export function eventFrom(view: AggregationView, at: number): number {
  return rawEventsFrom(view, at - ONLINE_CLOCK_SLACK_MS);
}

/**
 * Per group of the view (tiles and slices), the oldest piece start the online store keeps at the
 * writer's clock `now`: a tile group's tiles serve all its features, so they are kept for the longest
 * window among them; a slice group's slices while any of its features' head tiles may hold them.
 */
export function groupBounds(view: AggregationView, now: number): Map<PieceGroup, number> {
  const out = new Map<PieceGroup, number>();
  for (const g of tileGroups(view)) out.set(g, viewRetainFrom(g.aggregations, now - ONLINE_CLOCK_SLACK_MS));
  for (const g of sliceGroups(view)) out.set(g, oldestHead(g.hops, now));
  return out;
}

/** What the online store may drop at the writer's clock `now`, and when a quiet entity's pieces expire. */
export function pruneBounds(view: AggregationView, now: number): PruneBounds {
  let reach = 0;
  for (const f of view.features) reach = Math.max(reach, f.aggregation!.windowMs + 2 * f.aggregation!.hopMs);
  const pieces = [...groupBounds(view, now)].map(([g, from]) => ({ kind: g.kind === 'tile' ? ('T' as const) : ('S' as const), width: g.widthMs, from }));
  // Past expireMs after its last write, no window at any T reaches an entity's newest piece.
  return {
    now,
    everyMs: PRUNE_EVERY_MS,
    pieces,
    eventFrom: eventFrom(view, now),
    eventBucketMs: rawEventBucketWidth(view),
    eventWidths: rawEventWidths(view),
    eventSlackMs: ONLINE_CLOCK_SLACK_MS,
    expireMs: reach + 2 * ONLINE_CLOCK_SLACK_MS,
  };
}

interface Timed {
  readonly eventTs: number;
  readonly messageTs: number;
}

/**
 * Whether an event is folded into a slice group's slices. Only when online may still read them: its tile
 * (for one of the group's hops) was the head tile, or later, slack included, when the event was produced
 * (so every replay decides alike), and still is at the materializer's clock `now` (a backlog or a replay
 * of old events, as the demo seeds, writes no slices a gateway at T ≥ now − slack could never read).
 * Skipping by either rule is safe; folding more would be too.
 */
export function feedsSlices(group: PieceGroup, event: Timed, now: number): boolean {
  return event.eventTs >= oldestHead(group.hops, Math.max(event.messageTs, now));
}

/** Whether an event is kept raw online for the view (see the header). */
export function feedsOnlineEvents(view: AggregationView, event: Timed): boolean {
  return event.eventTs >= eventFrom(view, event.messageTs);
}

const inputsOf = new WeakMap<AggregationView, readonly string[]>();

/** The names of the source fields the view's features read, each once, in the features' order: worked out once per view. */
export function eventInputNames(view: AggregationView): readonly string[] {
  let names = inputsOf.get(view);
  if (names === undefined) inputsOf.set(view, (names = [...new Set(view.features.flatMap((f) => (f.aggregation!.of === undefined ? [] : [f.aggregation!.of])))]));
  return names;
}

/** The fields of a source event the view's features read: all an online raw event needs to carry. */
export function eventInputs(view: AggregationView, fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of eventInputNames(view)) out[name] = fields[name] ?? null;
  return out;
}

/** The online field of a tile or slice row as PostgreSQL holds it: its version and partial text. */
export function storedPieceField(kind: PieceKind, width: number, start: number, version: number, json: string): PieceField {
  return { name: kind === 'tile' ? tileField(width, start) : sliceField(width, start), value: encodePiece(version, json) };
}

/** One raw event as the view keeps it online: the source fields its features read. */
export function rawOnlineEvent(view: AggregationView, time: number, position: { readonly topic: string; readonly partition: number; readonly offset: number }, fields: Readonly<Record<string, unknown>>): OnlineEvent {
  return onlineEvent(time, position, JSON.stringify(eventInputs(view, fields)));
}
