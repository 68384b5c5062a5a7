/**
 * Tiles: which partials a window at T is made of, which ones a store must keep, and how the head is split.
 *
 * A feature's events are summarised per tile, [floor_hop(t), floor_hop(t) + hop), aligned to the Unix
 * epoch. The window at T, [floor_hop(T − window), T), is then exactly
 *
 *   the window/hop completed tiles in [floor_hop(T − window), floor_hop(T))   (the registry makes the window
 *                                                                               a whole number of hops)
 *   + the head: events in [floor_hop(T), T).
 *
 * The head tile is used whole only when its span (event-span.ts) shows its events all precede T, and not at
 * all when none do (headRule): otherwise it holds events both before and at or after T (T is a request
 * time in the middle of it; events may be dated slightly ahead), and is covered by raw events, or by finer
 * pieces:
 *
 *   - historical: the archived raw events of [floor_hop(T), T) (or any complete, aligned pieces of it);
 *   - online: the materializer keeps the head tile as slices (`headSliceWidths`: the feature's `slice`,
 *     by default 24m for a 1d hop, in levels if there are several) plus the raw events of the current
 *     slice; the gateway merges, level by level, the slices that end by T, and the raw events of T's
 *     slice before T. While a head tile's events lie in one slice, the tile itself stands in for that
 *     slice (event-span.ts).
 *
 * Because merging is exact, every split of [floor_hop(T − window), T) into disjoint complete pieces plus
 * raw events gives the same partial, bit for bit: online equals historical whatever pieces each side holds.
 * `windowPartial` (finalize.ts) takes any such split and refuses pieces that straddle the window's edges.
 */
import type { Aggregation } from '../../registry/types.ts';
import { floorHop, windowRange } from '../windows.ts';

type Window = Pick<Aggregation, 'windowMs' | 'hopMs'>;

/** The tile holding an event time: [start, start + hop). */
export function tileOf(timeMs: number, hopMs: number): { readonly start: number; readonly end: number } {
  const start = floorHop(timeMs, hopMs);
  return { start, end: start + hopMs };
}

export interface WindowPlan {
  /** Oldest event time included: floor_hop(T − window). */
  readonly from: number;
  /** Start of the head tile, floor_hop(T): completed tiles end here, raw head events start here. */
  readonly head: number;
  /** T, excluded. */
  readonly to: number;
  /** Starts of the completed tiles to read, ascending (window / hop of them). */
  readonly tileStarts: readonly number[];
}

/** What to read for the value at T: the completed tiles and the range of head events. */
export function windowPlan(aggregation: Window, asOf: number): WindowPlan {
  const { from, to } = windowRange(asOf, aggregation.windowMs, aggregation.hopMs);
  const head = floorHop(asOf, aggregation.hopMs);
  const tileStarts: number[] = [];
  for (let start = from; start < head; start += aggregation.hopMs) tileStarts.push(start);
  return { from, head, to, tileStarts };
}

/**
 * The oldest tile start a store must keep at `nowMs` for this feature; older tiles can be deleted. That is
 * the oldest tile any T ≥ now − hop still reads: one hop of slack so that a gateway whose clock lags the
 * materializer's (or a request whose T was taken just before a prune) still finds its tiles.
 */
export function retainFrom(aggregation: Window, nowMs: number): number {
  return floorHop(nowMs - aggregation.windowMs, aggregation.hopMs) - aggregation.hopMs;
}

/** `retainFrom` for a view whose tiles hold several features: the oldest any of them needs. */
export function viewRetainFrom(aggregations: Iterable<Window>, nowMs: number): number {
  let oldest = Infinity;
  for (const a of aggregations) oldest = Math.min(oldest, retainFrom(a, nowMs));
  return oldest;
}

/**
 * Tiles kept per (feature, entity) at most, besides tiles dated ahead of now by up to `futureSkewMs`
 * (events the materializer accepts from slightly fast clocks): window/hop completed tiles, one of slack
 * and the head. Multiply by the largest partial (moments: ~100 bytes; HLL: ≤ 16 KiB; a sketch: ~16 bytes per
 * occupied bucket; COUNT_DISTINCT: its values) for a memory bound per entity.
 */
export function maxTilesKept(aggregation: Window, futureSkewMs = 0): number {
  return aggregation.windowMs / aggregation.hopMs + 2 + Math.ceil(futureSkewMs / aggregation.hopMs);
}

/** Slices per head tile that `headSliceMs` aims for. */
const HEAD_SLICES = 60;

/** The finest slice there is: one second. */
export const FINEST_SLICE_MS = 1000;

/**
 * The default width of the slices a piece of `hopMs` is split into (what `@aggregate(slice:)` defaults to):
 * the largest whole number of seconds that divides it and is at most a sixtieth of it (1s at least).
 * 1m → 1s, 5m → 5s, 1h → 1m, 1d → 24m, 24m → 24s.
 */
export function headSliceMs(hopMs: number): number {
  for (let s = Math.floor(hopMs / HEAD_SLICES / 1000); s > 1; s--) if (hopMs % (s * 1000) === 0) return s * 1000;
  return FINEST_SLICE_MS;
}

/**
 * Levels of slices a head tile is kept in online. One: a read folds the raw events of T's slice. Levels
 * down to one second (a 1d hop in slices of 24m, 24s and 1s) would bound a read to one second of events
 * whatever the hop, but every level is one more row per event for an entity with few events per slice:
 * measured on the materializer bench, 5,514 events/s against about 30,000 with one level
 * (docs/materializer.md#hot-entities). The serving and materializer code take any number.
 */
export const SLICE_LEVELS = 1;

/**
 * The levels of slices the online store keeps a head tile in, coarsest first: the feature's slice width
 * (`@aggregate(slice:)`, by default headSliceMs of the hop), then, for further levels, about a sixtieth of
 * the level above, down to one second at most, SLICE_LEVELS of them. None when the slice is the hop itself
 * (a 1s hop, or `slice` equal to `hop`): the raw events of the head tile are read whole. Each width divides
 * the one before, so the levels nest.
 */
export function headSliceWidths(window: Pick<Aggregation, 'hopMs' | 'sliceMs'>): number[] {
  const widths: number[] = [];
  for (let width = window.hopMs; width > FINEST_SLICE_MS && widths.length < SLICE_LEVELS; ) {
    width = widths.length === 0 ? window.sliceMs : headSliceMs(width);
    if (width >= window.hopMs) break;
    widths.push(width);
  }
  return widths;
}

type SlicedView = { readonly features: readonly { readonly aggregation?: Pick<Aggregation, 'hopMs' | 'sliceMs'> | undefined }[] };

const lazyWidths = new WeakMap<object, ReadonlySet<number>>();

/**
 * The slice widths of a view whose slices are written lazily (event-span.ts): those whose features all
 * share one hop and have one level of slices. A slice then lies in one tile, which holds exactly its
 * events while they are the tile's only ones. A width shared by features of several hops (a 30s hop and a
 * 1m hop in 1s slices) has its slices written as events come. Worked out once per view, by the
 * materializer; the gateway takes a head tile whose events lie in one slice whole whatever the width's
 * kind (serving/aggregation-online.ts), which is right either way.
 */
export function lazySliceWidths(view: SlicedView): ReadonlySet<number> {
  let out = lazyWidths.get(view);
  if (out === undefined) {
    const hops = new Map<number, Set<number>>();
    const nested = new Set<number>();
    for (const f of view.features) {
      const levels = headSliceWidths(f.aggregation!);
      for (const width of levels) {
        hops.set(width, (hops.get(width) ?? new Set()).add(f.aggregation!.hopMs));
        if (levels.length > 1) nested.add(width);
      }
    }
    out = new Set([...hops].filter(([width, of]) => of.size === 1 && !nested.has(width)).map(([width]) => width));
    lazyWidths.set(view, out);
  }
  return out;
}

/** The pieces whose raw events online folds: a feature's finest slices, or its tiles when it has none. */
export function rawEventWidth(window: Pick<Aggregation, 'hopMs' | 'sliceMs'>): number {
  return headSliceWidths(window).at(-1) ?? window.hopMs;
}

type RawEventsView = { readonly features: readonly { readonly aggregation?: Pick<Aggregation, 'hopMs' | 'sliceMs'> | undefined }[] };

/**
 * Reads fetch at most this many buckets more than one (rawEventBucketWidth): a view whose finest widths
 * lie far apart (1 s and 1 h) gets buckets of its widest over this, not thousands per read.
 */
const MAX_BUCKETS_PER_WIDEST = 16;

/** Per view, worked out once: its features' distinct finest widths, and its raw-event bucket width. */
interface RawWidths {
  readonly widths: readonly number[];
  readonly bucket: number;
}

const rawWidths = new WeakMap<object, RawWidths>();

function rawWidthsOf(view: RawEventsView): RawWidths {
  let out = rawWidths.get(view);
  if (out === undefined) {
    const widths = [...new Set(view.features.map((f) => rawEventWidth(f.aggregation!)))];
    const bucket = Math.max(Math.min(...widths), Math.ceil(Math.max(...widths) / MAX_BUCKETS_PER_WIDEST));
    rawWidths.set(view, (out = { widths, bucket }));
  }
  return out;
}

/**
 * Where the raw events a value at `at` folds begin, over all of a view's features: the start of the
 * earliest of their finest slices holding `at`. The gateway reads raw events from here; the materializer
 * keeps them from here at (its clock − slack). Each view's distinct widths are worked out once.
 */
export function rawEventsFrom(view: RawEventsView, at: number): number {
  let from = Infinity;
  for (const width of rawWidthsOf(view).widths) from = Math.min(from, floorHop(at, width));
  return from;
}

/**
 * The width of the buckets a view's raw events are kept in online (stores/online-pieces.ts): its
 * features' finest slice, or a sixteenth of the widest when that is wider. rawEventsFrom(at) is later than
 * at − the widest, so a read's events lie in one bucket when all features share their finest width, and
 * otherwise in at most widest ÷ bucket + 1 (six for the example's `user_txn_windows`, 5 m and 24 m).
 * Finer buckets would mean more keys per read and per write; coarser ones, reads fetching more events
 * than the range they fold.
 */
export function rawEventBucketWidth(view: RawEventsView): number {
  return rawWidthsOf(view).bucket;
}

/** A view's distinct finest widths (rawEventWidth of each feature). */
export function rawEventWidths(view: RawEventsView): readonly number[] {
  return rawWidthsOf(view).widths;
}
