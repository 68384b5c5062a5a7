/**
 * Which aggregation pieces the online store gets and how long it keeps them (pure). The gateway reads a
 * window at T ≈ now as completed tiles, slices of T's head tile and raw events of T's current slice
 * (serving/aggregation-online.ts), so online needs, per entity and feature:
 *
 *   tiles     from retainFrom (the oldest any T ≥ now − slack reads) on;
 *   slices    of the head tile of any T ≥ now − slack;
 *   events    of the current slice of any such T.
 *
 * `ONLINE_CLOCK_SLACK_MS` is how far apart the clocks of producers, materializers and gateways may be. Which
 * events feed slices and raw online events is judged by the event's Kafka message timestamp (as lateness
 * is), so every replay and every materializer decides alike: an event feeds its head slices when its tile
 * was the head tile, or later, slack included, when it was produced. A later-arriving event is in an older
 * tile than any T after its arrival reads by slices, so its tile (always merged) covers it.
 *
 * Memory per entity and aggregation view in the online store, at most: per tile group (the features of one
 * hop), window/hop + 2 tiles for its longest window (plus tiles dated ahead by the allowed future skew),
 * the slices of two head tiles (≤ 2 × 60), and the raw events of the last slice plus slack; each tile or
 * slice one partial per feature of the group (moments ~100 bytes, HLL ≤ 16 KiB, a percentile sketch ~16
 * bytes per occupied bucket, COUNT_DISTINCT its distinct values). Pruning runs at most
 * once per `PRUNE_EVERY_MS` per entity, so up to that much more may linger.
 */
import { headSliceMs, viewRetainFrom } from '../features/aggregate/tiles.ts';
import { floorHop } from '../features/windows.ts';
import type { Aggregation, AggregationView } from '../registry/types.ts';
import { encodePiece, eventField, sliceField, tileField } from '../stores/online-pieces.ts';
import type { PieceField, PruneBounds } from '../stores/online-pieces.ts';
import { tileGroups } from './tiles.ts';
import type { PieceKind, TileGroup } from './tiles.ts';

/** How far apart producer, materializer and gateway clocks may be for online windows to stay exact. */
export const ONLINE_CLOCK_SLACK_MS = 120_000;

/** How often, at most, a write prunes an entity's online pieces. */
export const PRUNE_EVERY_MS = 60_000;

const sliceOf = (a: Aggregation): number => headSliceMs(a.hopMs);

const sliceWidths = new WeakMap<AggregationView, readonly number[]>();

/** The start of the oldest slice any T ≥ `at` − slack reads raw events from, over the view's features. */
function eventFrom(view: AggregationView, at: number): number {
  // Asked once per event (feedsOnlineEvents): the view's distinct slice widths are worked out once.
  let widths = sliceWidths.get(view);
  if (widths === undefined) sliceWidths.set(view, (widths = [...new Set(view.features.map((f) => sliceOf(f.aggregation!)))]));
  let from = Infinity;
  for (const width of widths) from = Math.min(from, floorHop(at - ONLINE_CLOCK_SLACK_MS, width));
  return from;
}

/** Per tile group, the oldest tile and slice start the online store keeps at the writer's clock `now`. */
export function groupBounds(view: AggregationView, now: number): Map<TileGroup, { readonly tileFrom: number; readonly sliceFrom: number }> {
  return new Map(
    tileGroups(view).map((g) => [
      g,
      // A group's tiles serve all its features: kept for the longest window among them.
      { tileFrom: viewRetainFrom(g.features.map((f) => f.aggregation!), now - ONLINE_CLOCK_SLACK_MS), sliceFrom: floorHop(now - ONLINE_CLOCK_SLACK_MS, g.hopMs) },
    ]),
  );
}

/** What the online store may drop at the writer's clock `now`, and when a quiet entity's pieces expire. */
export function pruneBounds(view: AggregationView, now: number): PruneBounds {
  let reach = 0;
  for (const f of view.features) reach = Math.max(reach, f.aggregation!.windowMs + 2 * f.aggregation!.hopMs);
  const pieces = [...groupBounds(view, now)].flatMap(([g, b]) => [
    { kind: 'T' as const, width: g.hopMs, from: b.tileFrom },
    { kind: 'S' as const, width: g.sliceMs, from: b.sliceFrom },
  ]);
  // Past this much time after its last write, no window at any T reaches an entity's newest piece.
  return { now, everyMs: PRUNE_EVERY_MS, pieces, eventFrom: eventFrom(view, now), expireMs: reach + 2 * ONLINE_CLOCK_SLACK_MS };
}

interface Timed {
  readonly eventTs: number;
  readonly messageTs: number;
}

/**
 * Whether an event is folded into the head slices of a feature. Only when online may still read them:
 * its tile was the head tile, or later, slack included, when the event was produced (so every replay
 * decides alike), and still is at the materializer's clock `now` (a backlog or a replay of old events,
 * as the demo seeds, writes no slices a gateway at T ≥ now − slack could never read). Skipping by either
 * rule is safe; folding more would be too.
 */
export function feedsSlices(aggregation: Aggregation, event: Timed, now: number): boolean {
  return event.eventTs >= floorHop(Math.max(event.messageTs, now) - ONLINE_CLOCK_SLACK_MS, aggregation.hopMs);
}

/** Whether an event is kept raw online for the view (see the header). */
export function feedsOnlineEvents(view: AggregationView, event: Timed): boolean {
  return event.eventTs >= eventFrom(view, event.messageTs);
}

const inputsOf = new WeakMap<AggregationView, readonly string[]>();

/** The fields of a source event the view's features read: all an online raw event needs to carry. */
export function eventInputs(view: AggregationView, fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  let names = inputsOf.get(view);
  if (names === undefined) inputsOf.set(view, (names = [...new Set(view.features.flatMap((f) => (f.aggregation!.of === undefined ? [] : [f.aggregation!.of])))]));
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = fields[name] ?? null;
  return out;
}

/** The online field of a tile or slice row as PostgreSQL holds it: its version and partial text. */
export function storedPieceField(kind: PieceKind, width: number, start: number, version: number, json: string): PieceField {
  return { name: kind === 'tile' ? tileField(width, start) : sliceField(width, start), value: encodePiece(version, json) };
}

/** The online field of one raw event the view keeps: the source fields its features read. */
export function rawEventField(view: AggregationView, time: number, position: { readonly topic: string; readonly partition: number; readonly offset: number }, fields: Readonly<Record<string, unknown>>): PieceField {
  // A raw event never changes: version 0.
  return { name: eventField(time, position), value: encodePiece(0, JSON.stringify(eventInputs(view, fields))) };
}
