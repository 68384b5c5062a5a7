/**
 * Raw events → tile partials (pure). A view's features that share a hop share a tile grid, and one stored
 * row per (entity, tile) holds all their partials (a tile group, below): a commit then locks, reads and
 * writes one row where it would otherwise touch one per feature. For every aggregation view over an event's
 * source, the event is folded into the partials of each group's tile [floor_hop(t), floor_hop(t) + hop) for
 * the event's entity, and, while its tile is a head tile online reads by slices at the materializer's clock
 * `now` (online-retention.ts), into the group's slice of that tile. The commit merges these deltas into the
 * stored tiles and slices; merges are exact and order-independent, so how events were split into batches
 * never shows in a value.
 */
import { aggregatorFor, inputValue } from '../features/aggregate/aggregators.ts';
import type { Aggregator } from '../features/aggregate/aggregator.ts';
import { headSliceMs } from '../features/aggregate/tiles.ts';
import { floorHop } from '../features/windows.ts';
import { entityKeyText } from '../features/keys.ts';
import type { Registry } from '../registry/registry.ts';
import type { Aggregation, AggregationView, Feature } from '../registry/types.ts';
import { groupBy } from './batch.ts';
import type { SourceEvent } from './decode.ts';
import { feedsSlices } from './online-retention.ts';

/** The features of one view with one hop: they are stored together, one row per (entity, tile). */
export interface TileGroup {
  readonly view: AggregationView;
  readonly hopMs: number;
  /** Width of its head slices, headSliceMs(hopMs). */
  readonly sliceMs: number;
  /** In the view's order. */
  readonly features: readonly Feature[];
  /** Each feature's aggregation and aggregator, looked up once. */
  readonly aggregations: readonly Aggregation[];
  readonly aggregators: readonly Aggregator[];
}

export type PieceKind = 'tile' | 'slice';

/** How wide a group's pieces of a kind are: its hop for tiles, headSliceMs(hop) for slices. */
export function pieceWidth(group: TileGroup, kind: PieceKind): number {
  return kind === 'tile' ? group.hopMs : group.sliceMs;
}

export interface TileDelta {
  /** A whole tile, or a slice of a head tile. */
  readonly kind: PieceKind;
  readonly group: TileGroup;
  readonly entityKey: string;
  readonly start: number;
  readonly end: number;
  /** Per feature of the group, in its order: the partial of this batch's events in the piece (not yet merged with what is stored). */
  readonly partials: unknown[];
}

const groupsCache = new WeakMap<AggregationView, readonly TileGroup[]>();

/** A view's tile groups, by ascending hop: worked out once per view. */
export function tileGroups(view: AggregationView): readonly TileGroup[] {
  let out = groupsCache.get(view);
  if (out === undefined) {
    out = [...groupBy(view.features, (f) => String(f.aggregation!.hopMs)).values()]
      .map((features) => ({
        view,
        hopMs: features[0]!.aggregation!.hopMs,
        sliceMs: headSliceMs(features[0]!.aggregation!.hopMs),
        features,
        aggregations: features.map((f) => f.aggregation!),
        aggregators: features.map((f) => aggregatorFor(f.aggregation!)),
      }))
      .sort((a, b) => a.hopMs - b.hopMs);
    groupsCache.set(view, out);
  }
  return out;
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

/** Per aggregation view, each event's entity key in the events' order (undefined: the event has no entity there). */
export type EventKeys = Map<AggregationView, (string | undefined)[]>;

/**
 * Folds a batch's events into deltas, one per (kind, group, entity, piece). An event whose join key for a
 * view is missing (a nullable source field left null) has no entity there and is skipped for that view;
 * it stays in the archive. `keys`, when given, is filled with the entity keys worked out on the way, so
 * that the commit does not work them out again for the online raw events.
 */
export function foldTiles(registry: Registry, events: ReadonlyMap<string, readonly SourceEvent[]>, now: number, keys?: EventKeys): TileDelta[] {
  const views = viewsBySource(registry);
  const out: TileDelta[] = [];
  const fold = (delta: TileDelta, event: SourceEvent) => {
    const { aggregations, aggregators } = delta.group;
    for (let i = 0; i < aggregators.length; i++) delta.partials[i] = aggregators[i]!.add(delta.partials[i], inputValue(aggregations[i]!, event.fields), event.eventTs);
  };
  for (const [source, list] of events) {
    for (const view of views.get(source) ?? []) {
      const entity = registry.entity(view.entity)!;
      const groups = tileGroups(view);
      // Per entity, one map per (group, kind) at index 2 × group + (slice ? 1 : 0): piece start → delta.
      // One lookup per event and view finds them all; joined key strings cost a tenth of the commit once.
      const byEntity = new Map<string, Map<number, TileDelta>[]>();
      const deltaFor = (pieces: Map<number, TileDelta>[], slot: number, kind: PieceKind, group: TileGroup, key: string, time: number): TileDelta => {
        const width = pieceWidth(group, kind);
        const start = floorHop(time, width);
        const byStart = pieces[slot]!;
        let delta = byStart.get(start);
        if (delta === undefined) {
          delta = { kind, group, entityKey: key, start, end: start + width, partials: group.aggregators.map((a) => a.empty()) };
          byStart.set(start, delta);
          out.push(delta);
        }
        return delta;
      };
      const eventKeys: (string | undefined)[] | undefined = keys === undefined ? undefined : [];
      if (eventKeys !== undefined) keys!.set(view, eventKeys);
      for (const event of list) {
        const key = entityKeyText(entity, event.fields);
        eventKeys?.push(key);
        if (key === undefined) continue;
        let pieces = byEntity.get(key);
        if (pieces === undefined) byEntity.set(key, (pieces = Array.from({ length: groups.length * 2 }, () => new Map())));
        for (let g = 0; g < groups.length; g++) {
          const group = groups[g]!;
          fold(deltaFor(pieces, 2 * g, 'tile', group, key, event.eventTs), event);
          if (feedsSlices(group.features[0]!.aggregation!, event, now)) fold(deltaFor(pieces, 2 * g + 1, 'slice', group, key, event.eventTs), event);
        }
      }
    }
  }
  return out;
}
