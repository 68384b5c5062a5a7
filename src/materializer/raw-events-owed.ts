/**
 * Which of a commit's raw events the online store must hold. A read at T needs an entity's raw events only
 * for a head tile whose span straddles T (headRule, event-span.ts); a tile whose events all lie at one time
 * never does, whatever T. So an event is held raw online only once one of its tiles (one per tile group of
 * its view) holds events at two times or more, or has no span (a row from before spans); until then its
 * tiles stand for it. Invariant: every event of a tile that may straddle a T is held raw (while a read can
 * reach its bucket). When a commit brings a tile whose events all lay at one time an event at another time,
 * those earlier events are owed raw now: no commit wrote them online, so they are read back from the view's
 * heads, which hold every archived event, and written in the same script call as the tile
 * (readEventsAt). A tile of another group may bring the same event again later; the gateway folds an event
 * held twice once (stores/online-pieces.ts).
 *
 * With many entities most tiles hold one event, and their entities no bucket key in Redis at all
 * (docs/materializer.md, "Raw events only for tiles that may straddle T").
 *
 * PostgreSQL's heads keep every event, as before: historical reads settle a head by the same rule, and the
 * re-syncs that rewrite buckets from heads (online-sync.ts, rebuild, backfill) write a superset, which a
 * read takes as it takes any raw event held while its tile stands in for it.
 */
import type { EventSpan } from '../features/aggregate/event-span.ts';
import { floorHop } from '../features/windows.ts';
import type { AggregationView } from '../registry/types.ts';
import type { OnlineEvent } from '../stores/online-pieces.ts';
import { headsSql } from '../stores/sql/heads-tables.ts';
import type { OfflineStore } from '../stores/types.ts';
import { eachHeadEvent, headsBucketWidth } from './heads.ts';
import type { MergedPiece } from './merge-pieces.ts';
import { tileGroups } from './tiles.ts';

/** A tile a commit merged, as its raw events need it: its hop and start, and its span after and before the merge. */
export interface MergedTile {
  readonly width: number;
  readonly start: number;
  readonly span: EventSpan | undefined;
  readonly prior: EventSpan | undefined;
}

/** Per view, per entity: the tiles a commit merged (pure). */
export function mergedTiles(merged: readonly MergedPiece[]): Map<AggregationView, Map<string, MergedTile[]>> {
  const out = new Map<AggregationView, Map<string, MergedTile[]>>();
  for (const { group, piece, span, prior } of merged) {
    if (group.kind !== 'tile') continue;
    let byEntity = out.get(group.view);
    if (byEntity === undefined) out.set(group.view, (byEntity = new Map()));
    const tile = { width: piece.width, start: piece.start, span, prior };
    const list = byEntity.get(piece.entityKey);
    if (list === undefined) byEntity.set(piece.entityKey, [tile]);
    else list.push(tile);
  }
  return out;
}

/** Whether a tile of this span may straddle some T: events at two times or more, or a span unknown. */
export function mayStraddle(span: EventSpan | undefined): boolean {
  return span === undefined || span.lo < span.hi;
}

const hopsOf = new WeakMap<AggregationView, readonly number[]>();

/** A view's tile hops, worked out once per view. */
function viewHops(view: AggregationView): readonly number[] {
  let hops = hopsOf.get(view);
  if (hops === undefined) hopsOf.set(view, (hops = tileGroups(view).map((g) => g.widthMs)));
  return hops;
}

/**
 * Whether an event the commit folded, at `time`, is held raw online: one of its tiles (`tiles`: its entity's,
 * as the commit merged them) may straddle a T. A tile the commit did not merge counts as one that may.
 */
export function heldRaw(view: AggregationView, tiles: readonly MergedTile[] | undefined, time: number): boolean {
  if (tiles === undefined) return true;
  for (const hop of viewHops(view)) {
    const start = floorHop(time, hop);
    let tile: MergedTile | undefined;
    for (const t of tiles) if (t.width === hop && t.start === start) tile = t;
    if (tile === undefined || mayStraddle(tile.span)) return true;
  }
  return false;
}

/**
 * The times whose earlier events an entity's tiles now owe raw (pure): each tile whose events all lay at one
 * time before the merge and no longer do. Each time once.
 */
export function spreadTimes(tiles: readonly MergedTile[]): number[] {
  const out: number[] = [];
  for (const { span, prior } of tiles) {
    if (prior === undefined || prior.lo !== prior.hi || !mayStraddle(span) || out.includes(prior.lo)) continue;
    out.push(prior.lo);
  }
  return out;
}

/**
 * The members a view's heads hold for each (entity, time) asked, in one query: the heads buckets holding
 * those times, and of their events those at exactly the time asked.
 */
export async function readEventsAt(offline: Pick<OfflineStore, 'query'>, view: AggregationView, wanted: readonly { readonly entityKey: string; readonly time: number }[]): Promise<Map<string, OnlineEvent[]>> {
  const out = new Map<string, OnlineEvent[]>();
  if (wanted.length === 0) return out;
  const width = headsBucketWidth(view);
  const starts = wanted.map((w) => floorHop(w.time, width));
  const found = await offline.query<{ __r: number; events: string }>(headsSql(view), [wanted.map((_, i) => i), wanted.map((w) => w.entityKey), starts, starts.map((s) => s + 1)]);
  for (const { __r, events } of found) {
    const { entityKey, time } = wanted[__r]!;
    eachHeadEvent(view, entityKey, events, (at, member) => {
      if (at !== time) return;
      const list = out.get(entityKey);
      if (list === undefined) out.set(entityKey, [{ time, member }]);
      else list.push({ time, member });
    });
  }
  return out;
}
