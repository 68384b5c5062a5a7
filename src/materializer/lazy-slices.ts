/**
 * Which of a tile's lazy slices a commit writes (pure; event-span.ts has the why). For each lazy slice
 * group of the tile, with the tile's span before the merge (`prior`) and after it:
 *
 *   events still in one slice      none is written: the tile holds them
 *   spread, or the span unknown    the batch's slices are written, merged into their rows as any piece
 *   spread by this merge, first    also the one slice the earlier events lie in, written whole (`firsts`)
 *                                  from the tile's earlier partials and the batch's own events there,
 *                                  if the batch has slices of the group in the tile (else no read takes
 *                                  the tile by slices any more)
 *
 * A first slice replaces its row rather than merging into it: the tile held every event of that slice,
 * so whatever a row of it holds already (an empty row a backfill left, or part of its events, written by
 * a commit that planned from a stale cache) is a subset. That is what makes a plan from a stale view of
 * the tile harmless: slices written though the tile turns out to be in one slice lie in that slice, which
 * a read at T does not take from slices while the tile holds it (serving/aggregation-online.ts), and which
 * is replaced whole once the tile spreads.
 */
import { isSpread, soleSlice, widenSpan } from '../features/aggregate/event-span.ts';
import type { EventSpan } from '../features/aggregate/event-span.ts';
import { lazySlicesOf } from './tiles.ts';
import type { PieceGroup, TileDelta } from './tiles.ts';

/** A slice written whole, replacing its row: its events' partials, one per feature of its group. */
export interface FirstSlice {
  readonly group: PieceGroup;
  readonly entityKey: string;
  readonly start: number;
  readonly partials: unknown[];
  readonly span: EventSpan;
}

export interface LazyChoice {
  /** The batch's slices to merge into their rows. */
  readonly write: TileDelta[];
  readonly firsts: FirstSlice[];
}

/**
 * The choice for a tile delta, given its row's span and partials before the merge (`priorStates`, in the
 * tile group's order, left unchanged: first slices get copies). A row not known is planned as new:
 * NO_EVENTS; an unknown span (a row from before spans) writes every slice, as before spans.
 */
export function chooseLazySlices(tile: TileDelta, prior: EventSpan | undefined, priorStates: readonly unknown[] | undefined): LazyChoice {
  const choice: LazyChoice = { write: [], firsts: [] };
  const merged = prior === undefined ? undefined : widenSpan(prior, tile);
  const { lazySlices } = tile.group;
  for (let k = 0; k < lazySlices.length; k++) {
    const { group, tileIndex } = lazySlices[k]!;
    if (!isSpread(merged, group.widthMs)) continue;
    const mine = lazySlicesOf(tile, k);
    for (const s of mine) choice.write.push(s);
    // A batch none of whose events feed the group's slices here spread a tile no read takes by slices any
    // more (online-retention.ts, feedsSlices: a backfill's or a backlog's old events): no first slice.
    const first = mine.length === 0 ? undefined : soleSlice(prior, group.widthMs);
    if (first === undefined || priorStates === undefined) continue;
    const partials = group.aggregators.map((a, f) => a.mergeInto(a.empty(), priorStates[tileIndex[f]!]));
    choice.firsts.push({ group, entityKey: tile.entityKey, start: first, partials, span: prior! });
  }
  return choice;
}

/**
 * A first slice as a delta, with the batch's own delta of the same slice folded in (`same`, if the batch
 * has one; it is left unchanged).
 */
export function firstSliceDelta(first: FirstSlice, same: TileDelta | undefined): TileDelta {
  const { group } = first;
  const partials = first.partials;
  let { lo, hi } = first.span;
  if (same !== undefined) {
    for (let f = 0; f < group.aggregators.length; f++) partials[f] = group.aggregators[f]!.mergeInto(partials[f], same.partials[f]);
    lo = Math.min(lo, same.lo);
    hi = Math.max(hi, same.hi);
  }
  return { group, entityKey: first.entityKey, start: first.start, end: first.start + group.widthMs, partials, lo, hi, slices: undefined, sole: undefined };
}
