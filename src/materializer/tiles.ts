/**
 * Raw events → tile partials (pure). A view's features that share a hop share a tile grid, and one stored
 * row per (entity, tile) holds all their partials (a tile group, below): a commit then locks, reads and
 * writes one row where it would otherwise touch one per feature. For every aggregation view over an event's
 * source, the event is folded into the partials of each group's tile [floor_hop(t), floor_hop(t) + hop) for
 * the event's entity, and, while its tile is a head tile online reads by slices at the materializer's clock
 * `now` (online-retention.ts), into its slice of each level (slice groups, below). The commit merges these deltas into the
 * stored tiles and slices; merges are exact and order-independent, so how events were split into batches
 * never shows in a value.
 *
 * An event that feeds a feature's slice is added to the slice's partial only; the tile's partial then takes
 * the merge of its slices' (`sources` and TileTarget, below). Adding an event costs more than merging a
 * partial (a BigInt shift-and-add, a canonical text, a sketch bucket), and a head tile's events fall in
 * one or two slices per entity and commit, so this does about half the adds of folding every event into
 * both.
 *
 * Each delta also records the span of its events' times, and a tile delta its slices of lazy groups:
 * the commit decides from them and the stored tile which of those slices it writes (lazy-slices.ts).
 */
import { aggregatorFor, inputValue } from '../features/aggregate/aggregators.ts';
import type { Aggregator } from '../features/aggregate/aggregator.ts';
import { headSliceWidths, lazySliceWidths } from '../features/aggregate/tiles.ts';
import { floorHop } from '../features/windows.ts';
import { entityKeyText } from '../features/keys.ts';
import type { Registry } from '../registry/registry.ts';
import type { Aggregation, AggregationView, Feature } from '../registry/types.ts';
import { groupBy } from './batch.ts';
import type { SourceEvent } from './decode.ts';
import { feedsSlices } from './online-retention.ts';

/**
 * The features of one view whose pieces of one kind share a width: they are stored together, one row per
 * (entity, piece). A tile group is the features of one hop; a slice group the features whose head tiles
 * are split into slices of its width (headSliceWidths: the feature's `slice`), whatever their hops: a 30 s
 * hop and a 1 m hop share their 1 s slices.
 */
export interface PieceGroup {
  readonly kind: PieceKind;
  readonly view: AggregationView;
  /** Width of its pieces: the hop for a tile group, the slice width for a slice group. */
  readonly widthMs: number;
  /** The distinct hops of its features (one for a tile group): which head tiles its slices split. */
  readonly hops: readonly number[];
  /** In the view's order. */
  readonly features: readonly Feature[];
  /** Each feature's aggregation and aggregator, looked up once. */
  readonly aggregations: readonly Aggregation[];
  readonly aggregators: readonly Aggregator[];
  /** A slice group: whether its slices are written lazily (lazySliceWidths, event-span.ts). */
  readonly lazy: boolean;
  /** A tile group: its lazily written slice groups, each with where its features' partials are in the tile. */
  readonly lazySlices: readonly LazySlices[];
}

/** A lazy slice group of a tile group: per feature of the slice group, that feature's index in the tile group. */
export interface LazySlices {
  readonly group: PieceGroup;
  readonly tileIndex: readonly number[];
}

export type PieceKind = 'tile' | 'slice';

export interface TileDelta {
  /** A whole tile or a slice of a head tile, as its group's kind says. */
  readonly group: PieceGroup;
  readonly entityKey: string;
  readonly start: number;
  readonly end: number;
  /** Per feature of the group, in its order: the partial of this batch's events in the piece (not yet merged with what is stored). */
  readonly partials: unknown[];
  /** The earliest and latest of this batch's event times in the piece (a tile's span: event-span.ts). */
  lo: number;
  hi: number;
  /** A tile: this batch's slices of it in its lazy slice groups, if any (merge-pieces.ts decides which are written). */
  slices: TileDelta[] | undefined;
  /**
   * A tile with lazy slice groups, per group (its lazySlices' order): while every event of the batch in the
   * tile fed the group's slices and lay in one of them, that slice's start, and no slice delta was made:
   * the tile's partials hold those events (lazySlicesOf makes the delta if the commit needs it). SPLIT once
   * that stopped (the slice deltas then hold the fed events), undefined before any event.
   */
  readonly sole: (number | undefined)[] | undefined;
}

/** TileDelta.sole once a tile's events in the batch are no longer one slice's fed events. */
export const SPLIT = -Infinity;

/**
 * This batch's slices of a tile in one of its lazy groups (`k`: its index in the tile group's lazySlices),
 * made from the tile's partials, once, when the batch's events there lie in one slice (TileDelta.sole).
 */
export function lazySlicesOf(tile: TileDelta, k: number): TileDelta[] {
  const { group, tileIndex } = tile.group.lazySlices[k]!;
  const sole = tile.sole?.[k];
  if (sole !== undefined && sole !== SPLIT && !(tile.slices?.some((s) => s.group === group) ?? false)) {
    const partials = group.aggregators.map((a, f) => a.mergeInto(a.empty(), tile.partials[tileIndex[f]!]));
    (tile.slices ??= []).push({ group, entityKey: tile.entityKey, start: sole, end: sole + group.widthMs, partials, lo: tile.lo, hi: tile.hi, slices: undefined, sole: undefined });
  }
  return tile.slices === undefined ? [] : tile.slices.filter((s) => s.group === group);
}

interface ViewGroups {
  readonly tiles: readonly PieceGroup[];
  readonly slices: readonly PieceGroup[];
  /** Tile groups, then slice groups. */
  readonly all: readonly PieceGroup[];
  /**
   * Per group of `all`: for a tile group, the slot in `all` of the slice group each feature's partial comes
   * from for the events that fed it (its coarsest slices; undefined: it has no slices); for a slice group, none.
   */
  readonly sources: readonly (readonly (number | undefined)[])[];
  /** Per group of `all`: for a slice group, where each of its features' tiles are (TileTarget); for a tile group, none. */
  readonly targets: readonly (readonly TileTarget[])[];
  /** The lazy slice groups: their slot in `all`, their tile group's, and their index in its lazySlices. */
  readonly lazy: readonly { readonly slot: number; readonly tileSlot: number; readonly k: number }[];
}

/** A slice group's feature (`index` in it) whose tile is built from its slices: the tile group's slot in `all`, its hop, the feature's index there. */
interface TileTarget {
  readonly index: number;
  readonly slot: number;
  readonly hopMs: number;
  readonly tileIndex: number;
}

const groupsCache = new WeakMap<AggregationView, ViewGroups>();

function pieceGroup(kind: PieceKind, view: AggregationView, widthMs: number, features: readonly Feature[], lazySlices: readonly LazySlices[] = []): PieceGroup {
  const aggregations = features.map((f) => f.aggregation!);
  const lazy = kind === 'slice' && lazySliceWidths(view).has(widthMs);
  return { kind, view, widthMs, hops: [...new Set(aggregations.map((a) => a.hopMs))], features, aggregations, aggregators: aggregations.map(aggregatorFor), lazy, lazySlices };
}

function viewGroups(view: AggregationView): ViewGroups {
  let out = groupsCache.get(view);
  if (out === undefined) {
    const bySlice = new Map<number, Feature[]>();
    for (const f of view.features) for (const width of headSliceWidths(f.aggregation!)) bySlice.set(width, [...(bySlice.get(width) ?? []), f]);
    const slices = [...bySlice].map(([width, fs]) => pieceGroup('slice', view, width, fs)).sort((a, b) => a.widthMs - b.widthMs);
    const tiles = [...groupBy(view.features, (f) => String(f.aggregation!.hopMs)).values()]
      .map((fs) => {
        // A lazy slice group's features share one hop, so all of them are in this tile group or none.
        const lazySlices = slices.filter((g) => g.lazy && fs.includes(g.features[0]!)).map((group) => ({ group, tileIndex: group.features.map((f) => fs.indexOf(f)) }));
        return pieceGroup('tile', view, fs[0]!.aggregation!.hopMs, fs, lazySlices);
      })
      .sort((a, b) => a.widthMs - b.widthMs);
    const all = [...tiles, ...slices];
    const sources: (number | undefined)[][] = all.map(() => []);
    const targets: TileTarget[][] = all.map(() => []);
    tiles.forEach((tile, slot) =>
      tile.features.forEach((feature, tileIndex) => {
        // The coarsest level: each of its slices lies in one tile of the hop, as the width divides the hop.
        const width = headSliceWidths(feature.aggregation!)[0];
        if (width === undefined) return;
        const from = all.findIndex((g) => g.kind === 'slice' && g.widthMs === width);
        sources[slot]![tileIndex] = from;
        targets[from]!.push({ index: all[from]!.features.indexOf(feature), slot, hopMs: tile.widthMs, tileIndex });
      }),
    );
    const lazy = tiles.flatMap((tile, tileSlot) => tile.lazySlices.map(({ group }, k) => ({ slot: all.indexOf(group), tileSlot, k })));
    out = { tiles, slices, all, sources, targets, lazy };
    groupsCache.set(view, out);
  }
  return out;
}

/** A view's tile groups, by ascending hop: worked out once per view. */
export function tileGroups(view: AggregationView): readonly PieceGroup[] {
  return viewGroups(view).tiles;
}

/** A view's slice groups, by ascending width: worked out once per view. */
export function sliceGroups(view: AggregationView): readonly PieceGroup[] {
  return viewGroups(view).slices;
}

/** A view's groups of a kind, or all of them (tile groups first). */
export function pieceGroups(view: AggregationView, kind?: PieceKind): readonly PieceGroup[] {
  return kind === undefined ? viewGroups(view).all : kind === 'tile' ? tileGroups(view) : sliceGroups(view);
}

const bySourceCache = new WeakMap<Registry, ReadonlyMap<string, readonly AggregationView[]>>();

/** The aggregation views computed from each source: worked out once per registry, not per batch. */
function viewsBySource(registry: Registry): ReadonlyMap<string, readonly AggregationView[]> {
  let out = bySourceCache.get(registry);
  if (out === undefined) {
    out = groupBy(registry.views.filter((v): v is AggregationView => v.kind === 'aggregation'), (v) => v.source);
    bySourceCache.set(registry, out);
  }
  return out;
}

/**
 * One entity's deltas in a fold, per group slot: the one its last event went to, and, once it has more than
 * one there, all of them by piece start (most entities of a busy stream have one event per commit: no map).
 */
interface EntityPieces {
  readonly byStart: (Map<number, TileDelta> | undefined)[];
  readonly last: (TileDelta | undefined)[];
}

/** The entity's delta of a group slot starting at `start`, if the fold made one. */
function pieceAt(pieces: EntityPieces, slot: number, start: number): TileDelta | undefined {
  const byStart = pieces.byStart[slot];
  if (byStart !== undefined) return byStart.get(start);
  const only = pieces.last[slot];
  return only?.start === start ? only : undefined;
}

/** Per aggregation view, each event's entity key in the events' order (undefined: the event has no entity there). */
export type EventKeys = Map<AggregationView, (string | undefined)[]>;

/**
 * Each aggregation view's entity key for each of the batch's events (pure): worked out once per commit, for
 * the fold, the heads and the online raw events alike. An event whose join key for a view is missing (a
 * nullable source field left null) has no entity there.
 */
export function eventKeys(registry: Registry, events: ReadonlyMap<string, readonly SourceEvent[]>): EventKeys {
  const views = viewsBySource(registry);
  const keys: EventKeys = new Map();
  for (const [source, list] of events) {
    for (const view of views.get(source) ?? []) {
      const entity = registry.entity(view.entity)!;
      const viewKeys = new Array<string | undefined>(list.length);
      for (let i = 0; i < list.length; i++) viewKeys[i] = entityKeyText(entity, list[i]!.fields);
      keys.set(view, viewKeys);
    }
  }
  return keys;
}

/**
 * Folds a batch's events into deltas, one per (kind, group, entity, piece). An event with no entity for a
 * view (`keys`, from eventKeys) is skipped for that view; it stays in the archive.
 */
export function foldTiles(registry: Registry, events: ReadonlyMap<string, readonly SourceEvent[]>, now: number, keys: EventKeys = eventKeys(registry, events)): TileDelta[] {
  const steps = folding(registry, events, now, keys);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** Events foldTilesYielding folds between two pauses. */
const FOLD_PER_TURN = 2048;

/**
 * foldTiles, pausing (`pause`: the event loop's next turn) every FOLD_PER_TURN events. A commit folds while
 * PostgreSQL writes the batch's archive and heads, queued one behind the other on its connection; the
 * driver sends each statement only once the process has read the answer to the one before, so a fold
 * that held the process throughout would leave PostgreSQL waiting from the archive's end to the fold's.
 */
export async function foldTilesYielding(registry: Registry, events: ReadonlyMap<string, readonly SourceEvent[]>, now: number, keys: EventKeys, pause: () => Promise<void>): Promise<TileDelta[]> {
  const steps = folding(registry, events, now, keys);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    await pause();
  }
}

/** The fold, yielding every FOLD_PER_TURN events; returns the deltas. */
function* folding(registry: Registry, events: ReadonlyMap<string, readonly SourceEvent[]>, now: number, keys: EventKeys): Generator<void, TileDelta[]> {
  const views = viewsBySource(registry);
  const out: TileDelta[] = [];
  let folded = 0;
  // Adds the event to the delta's features, but for those whose slice `fed` says took it (sources).
  const fold = (delta: TileDelta, event: SourceEvent, sources: readonly (number | undefined)[], fed: readonly boolean[]) => {
    const { aggregations, aggregators } = delta.group;
    for (let i = 0; i < aggregators.length; i++) {
      const from = sources[i];
      if (from === undefined || !fed[from]) delta.partials[i] = aggregators[i]!.add(delta.partials[i], inputValue(aggregations[i]!, event.fields), event.eventTs);
    }
  };
  for (const [source, list] of events) {
    for (const view of views.get(source) ?? []) {
      const { all: groups, sources, targets, lazy } = viewGroups(view);
      const fed = groups.map(() => false);
      const sliceDeltas: { readonly delta: TileDelta; readonly slot: number }[] = [];
      // Per entity, one map per group (tile groups, then slice groups): piece start → delta. One lookup
      // per event and view finds them all; joined key strings cost a tenth of the commit once.
      const byEntity = new Map<string, EntityPieces>();
      const deltaFor = (pieces: EntityPieces, slot: number, key: string, time: number): TileDelta => {
        // An entity's next event most often falls in the piece its last one did: no map lookup then.
        const last = pieces.last[slot];
        if (last !== undefined && time >= last.start && time < last.end) return last;
        const group = groups[slot]!;
        const start = floorHop(time, group.widthMs);
        let delta = pieceAt(pieces, slot, start);
        if (delta === undefined) {
          const sole = group.lazySlices.length === 0 ? undefined : new Array<undefined>(group.lazySlices.length);
          delta = { group, entityKey: key, start, end: start + group.widthMs, partials: group.aggregators.map((a) => a.empty()), lo: Infinity, hi: -Infinity, slices: undefined, sole };
          if (last !== undefined) {
            let byStart = pieces.byStart[slot];
            if (byStart === undefined) pieces.byStart[slot] = byStart = new Map([[last.start, last]]);
            byStart.set(start, delta);
          }
          out.push(delta);
          if (targets[slot]!.length > 0) sliceDeltas.push({ delta, slot });
        }
        pieces.last[slot] = delta;
        return delta;
      };
      const viewKeys = keys.get(view)!;
      for (let e = 0; e < list.length; e++) {
        if (++folded % FOLD_PER_TURN === 0) yield;
        const key = viewKeys[e];
        if (key === undefined) continue;
        const event = list[e]!;
        let pieces = byEntity.get(key);
        if (pieces === undefined) byEntity.set(key, (pieces = { byStart: new Array<undefined>(groups.length), last: new Array<undefined>(groups.length) }));
        for (let g = 0; g < groups.length; g++) fed[g] = groups[g]!.kind === 'slice' && feedsSlices(groups[g]!, event, now);
        const time = event.eventTs;
        // A lazy group's events go into the tile alone while they are fed ones of one slice (TileDelta.sole).
        for (const { slot, tileSlot, k } of lazy) {
          const tile = deltaFor(pieces, tileSlot, key, time);
          const sole = tile.sole![k];
          if (sole === SPLIT) continue;
          const start = floorHop(time, groups[slot]!.widthMs);
          if (fed[slot] && (sole === undefined || sole === start)) {
            tile.sole![k] = start;
            fed[slot] = false;
            continue;
          }
          // No longer one slice's fed events: the slice so far takes the tile's partials of them.
          if (sole !== undefined) {
            const slice = deltaFor(pieces, slot, key, sole);
            const { tileIndex } = tile.group.lazySlices[k]!;
            for (let f = 0; f < tileIndex.length; f++) {
              slice.partials[f] = tile.partials[tileIndex[f]!];
              tile.partials[tileIndex[f]!] = tile.group.aggregators[tileIndex[f]!]!.empty();
            }
            slice.lo = tile.lo;
            slice.hi = tile.hi;
          }
          tile.sole![k] = SPLIT;
        }
        for (let g = 0; g < groups.length; g++) {
          if (groups[g]!.kind !== 'tile' && !fed[g]) continue;
          const delta = deltaFor(pieces, g, key, time);
          if (time < delta.lo) delta.lo = time;
          if (time > delta.hi) delta.hi = time;
          fold(delta, event, sources[g]!, fed);
        }
      }
      // Each tile takes its slices' partials for the events it skipped above.
      for (const { delta: slice, slot: sliceSlot } of sliceDeltas) {
        const pieces = byEntity.get(slice.entityKey)!;
        let tile: TileDelta | undefined;
        for (const { index, slot, hopMs, tileIndex } of targets[sliceSlot]!) {
          tile = pieceAt(pieces, slot, floorHop(slice.start, hopMs))!;
          tile.partials[tileIndex] = tile.group.aggregators[tileIndex]!.mergeInto(tile.partials[tileIndex], slice.partials[index]);
        }
        // A lazy group's slices all lie in one tile: the last one found.
        if (slice.group.lazy) (tile!.slices ??= []).push(slice);
      }
    }
  }
  return out;
}
