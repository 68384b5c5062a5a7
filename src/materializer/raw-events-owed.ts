/**
 * Which of a commit's raw events the online store must hold. A read at T needs an entity's raw events only
 * for a head tile whose span straddles T (headRule, event-span.ts); a tile whose events all lie at one time
 * never does, whatever T. So an event is held raw online only once one of its tiles (one per tile group of
 * its view) holds events at two times or more, or has no span (a row from before spans); until then its
 * tiles stand for it (decided per entity and commit: entitiesHeldRaw). Invariant: every event of a tile that may straddle a T is held raw (while a read can
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
import { mayStraddle } from '../features/aggregate/event-span.ts';
import { floorHop } from '../features/windows.ts';
import type { AggregationView } from '../registry/types.ts';
import type { OnlineEvent } from '../stores/online-pieces.ts';
import { headsSql } from '../stores/sql/heads-tables.ts';
import type { OfflineStore } from '../stores/types.ts';
import { eachHeadEvent, headsBucketWidth } from './heads.ts';
import type { MergedPiece } from './merge-pieces.ts';

/**
 * Per view, the entities whose events of the commit are held raw: those with a tile the commit merged that
 * may straddle a T (pure). Per entity rather than per tile: an entity's events in one commit nearly always
 * share their tiles, a set lookup per event costs a tenth of finding each event's tiles, and holding more
 * events raw than needed is safe.
 */
export function entitiesHeldRaw(merged: readonly MergedPiece[]): Map<AggregationView, Set<string>> {
  const out = new Map<AggregationView, Set<string>>();
  for (const { group, piece, span } of merged) {
    if (group.kind !== 'tile' || !mayStraddle(span)) continue;
    let keys = out.get(group.view);
    if (keys === undefined) out.set(group.view, (keys = new Set()));
    keys.add(piece.entityKey);
  }
  return out;
}

/** An earlier time of an entity whose events are owed raw now. */
export interface EarlierEvents {
  readonly entityKey: string;
  readonly time: number;
}

/**
 * Per view, the earlier events the commit owes raw (pure): for each tile whose events all lay at one time
 * before the merge and no longer do, that time (each (entity, time) once).
 */
export function spreadTimes(merged: readonly MergedPiece[]): Map<AggregationView, EarlierEvents[]> {
  const out = new Map<AggregationView, EarlierEvents[]>();
  // Another tile group's tile of the entity may have spread from the same time.
  const seen = new Set<string>();
  for (const { group, piece, span, prior } of merged) {
    if (group.kind !== 'tile' || prior === undefined || prior.lo !== prior.hi || !mayStraddle(span)) continue;
    const id = `${group.view.name}\n${piece.entityKey}\n${prior.lo}`;
    if (seen.has(id)) continue;
    seen.add(id);
    let list = out.get(group.view);
    if (list === undefined) out.set(group.view, (list = []));
    list.push({ entityKey: piece.entityKey, time: prior.lo });
  }
  return out;
}

/**
 * The members a view's heads hold for each (entity, time) asked, in one query: the heads buckets holding
 * those times, and of their events those at exactly the time asked.
 */
export async function readEventsAt(offline: Pick<OfflineStore, 'query'>, view: AggregationView, wanted: readonly EarlierEvents[]): Promise<Map<string, OnlineEvent[]>> {
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
