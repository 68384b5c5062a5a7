/**
 * Raw events → tile partials (pure): for every aggregation view over an event's source, the event is
 * folded into the partial of each feature's tile [floor_hop(t), floor_hop(t) + hop) for the event's
 * entity, and, while its tile is a head tile online reads by slices at the materializer's clock `now`
 * (online-retention.ts), into its slice of that tile. The commit merges these deltas into the stored tiles and slices; merges are exact and
 * order-independent, so how events were split into batches never shows in a value.
 */
import { aggregatorFor } from '../features/aggregate/aggregators.ts';
import { foldEvent } from '../features/aggregate/finalize.ts';
import { headSliceMs, tileOf } from '../features/aggregate/tiles.ts';
import { entityKey } from '../features/keys.ts';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView, Feature } from '../registry/types.ts';
import { groupBy } from './batch.ts';
import type { SourceEvent } from './decode.ts';
import { feedsSlices } from './online-retention.ts';

export interface TileDelta {
  /** A whole tile, or a slice of a head tile. */
  readonly kind: 'tile' | 'slice';
  readonly view: AggregationView;
  readonly feature: Feature;
  readonly entityKey: string;
  readonly start: number;
  readonly end: number;
  /** The partial of this batch's events in the tile (not yet merged with what is stored). */
  readonly partial: unknown;
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
 * Folds a batch's events into tile deltas, grouped by (view, feature, entity, tile). An event whose
 * join key for a view is missing (a nullable source field left null) has no entity there and is skipped
 * for that view; it stays in the archive.
 */
export function foldTiles(registry: Registry, events: ReadonlyMap<string, readonly SourceEvent[]>, now: number): TileDelta[] {
  const views = viewsBySource(registry);
  const deltas = new Map<string, TileDelta>();
  for (const [source, list] of events) {
    for (const view of views.get(source) ?? []) {
      const entity = registry.entity(view.entity)!;
      for (const event of list) {
        const key = entityKey(entity, event.fields);
        if (!key.ok) continue;
        for (const feature of view.features) {
          const aggregation = feature.aggregation!;
          const folded = { time: event.eventTs, row: event.fields };
          const add = (kind: TileDelta['kind'], widthMs: number) => {
            const piece = tileOf(event.eventTs, widthMs);
            const id = `${kind}\u0000${view.name}\u0000${feature.name}\u0000${key.key}\u0000${piece.start}`;
            let delta = deltas.get(id);
            if (delta === undefined) {
              delta = { kind, view, feature, entityKey: key.key, start: piece.start, end: piece.end, partial: aggregatorFor(aggregation).empty() };
              deltas.set(id, delta);
            }
            foldEvent(aggregation, delta.partial, folded);
          };
          add('tile', aggregation.hopMs);
          if (feedsSlices(aggregation, event, now)) add('slice', headSliceMs(aggregation.hopMs));
        }
      }
    }
  }
  return [...deltas.values()];
}
