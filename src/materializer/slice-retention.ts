/**
 * Slices in PostgreSQL are only there for the online store: a rebuild or an outbox flush reads the slices
 * of head tiles any T ≥ now − slack reads (online-retention.ts); historical reads use whole tiles and
 * the archive. Older slices are never read again, so a materializer deletes them every few minutes —
 * without it `slices_<view>` grows by every (entity, slice) ever touched. One hop of margin beyond what
 * online still reads covers materializers whose clocks differ by up to a hop more than the slack.
 */
import { floorHop } from '../features/windows.ts';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView } from '../registry/types.ts';
import type { SqlQueryable } from '../stores/sql/client.ts';
import { slicesTable } from '../stores/sql/materializer-tables.ts';
import { ONLINE_CLOCK_SLACK_MS } from './online-retention.ts';
import { sliceGroups } from './tiles.ts';

/** How often, at most, a materializer deletes old slices. */
export const SLICE_PRUNE_EVERY_MS = 5 * 60_000;

/** Per slice width of the view: slices starting before `before` are read by nothing (pure). */
export function sliceCutoffs(view: AggregationView, now: number): { readonly width: number; readonly before: number }[] {
  // Before the oldest head tile, over the group's hops, online may read, with a hop of margin (see the header).
  return sliceGroups(view).map((g) => ({ width: g.widthMs, before: Math.min(...g.hops.map((hop) => floorHop(now - ONLINE_CLOCK_SLACK_MS, hop) - hop)) }));
}

/** Deletes every aggregation view's slices nothing reads any more at `now`; returns how many. */
export async function pruneSlices(registry: Registry, offline: SqlQueryable, now: number): Promise<number> {
  let deleted = 0;
  for (const view of registry.views) {
    if (view.kind !== 'aggregation') continue;
    const cutoffs = sliceCutoffs(view, now);
    const rows = await offline.query<{ n: number }>(
      `with gone as (delete from ${slicesTable(view.name)} s using unnest($1::bigint[], $2::bigint[]) as c(w, b) where s.width = c.w and s.tile_start < c.b returning 1) select count(*)::int as n from gone`,
      [cutoffs.map((c) => c.width), cutoffs.map((c) => c.before)],
    );
    deleted += rows[0]?.n ?? 0;
  }
  return deleted;
}
