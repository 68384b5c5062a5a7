/**
 * The values data-quality statistics describe, read from the offline store (the source of truth) for one
 * view over the longest window asked, once, and then cut to each shorter window ending at the same instant.
 *
 * - Row views: their history rows with from ≤ event_timestamp ≤ end, every row (an entity's older rows
 *   too: each is a value the view held). At most `maxRows`, the newest.
 * - Aggregation views keep no values, only tiles and archived events. Their values are computed at `end`
 *   for the entities with an archived event in [from, end) by the batched reader historical retrieval uses
 *   (serving/aggregation-offline.ts), so they are the values historicalFeatures answers at `end`. At most
 *   `maxEntities`, the most recently active.
 *
 * Items carry a time (a row's event time, an entity's latest event), newest first, so a shorter window is
 * a prefix. The read asks for one item more than the limit: that item's time says which windows the limit
 * cut (those reaching back to it) and which it left whole.
 */
import { servedValue } from '../../serving/frame.ts';
import { offlineAggregationRows } from '../../serving/aggregation-offline.ts';
import type { Registry } from '../../registry/registry.ts';
import type { AggregationView, Feature, RowView } from '../../registry/types.ts';
import type { OfflineStore } from '../../stores/types.ts';
import { activeEntitiesSql, rowWindowSql } from './sql.ts';

export interface SampleLimits {
  /** Most history rows read per row view. */
  readonly maxRows: number;
  /** Most entities evaluated per aggregation view. */
  readonly maxEntities: number;
}

export interface WindowSample {
  /** What an item is: a history row, or an entity evaluated at the window's end. */
  readonly basis: 'rows' | 'entities';
  /** Each item's time, epoch ms, newest first. */
  readonly times: readonly number[];
  /** Per feature (in the order asked), each item's value as served. */
  readonly values: readonly (readonly unknown[])[];
  /** Time of the newest item the limit left out (all others left out are older); null when none was. */
  readonly cutAt: number | null;
}

/** A sample's items with time ≥ from: per feature its values, and whether the limit cut this window. */
export function cutWindow(sample: WindowSample, from: number): { readonly values: readonly (readonly unknown[])[]; readonly truncated: boolean } {
  let n = 0;
  while (n < sample.times.length && sample.times[n]! >= from) n++;
  return { values: sample.values.map((v) => (n === v.length ? v : v.slice(0, n))), truncated: sample.cutAt !== null && sample.cutAt >= from };
}

export async function readWindowSample(
  registry: Registry,
  offline: Pick<OfflineStore, 'query'>,
  view: RowView | AggregationView,
  features: readonly Feature[],
  from: number,
  end: number,
  limits: SampleLimits,
): Promise<WindowSample> {
  const iso = (ms: number) => new Date(ms).toISOString();
  if (view.kind === 'row') {
    // One more than the limit: see cutAt.
    const rows = await offline.query<Record<string, unknown>>(rowWindowSql(view, features.map((f) => f.name)), [iso(from), iso(end), limits.maxRows + 1]);
    const kept = rows.slice(0, limits.maxRows);
    return {
      basis: 'rows',
      times: kept.map((r) => r.__t as number),
      values: features.map((f) => kept.map((r) => servedValue(f, r[f.name] ?? null))),
      cutAt: cutAt(rows, limits.maxRows),
    };
  }
  const entity = registry.entity(view.entity)!;
  const source = registry.source(view.source)!;
  const keyFields = entity.joinKeys.map((k) => source.fields.find((f) => f.name === k.name)!);
  const active = await offline.query<Record<string, unknown>>(activeEntitiesSql(source, keyFields), [iso(from), iso(end), limits.maxEntities + 1]);
  const kept = active.slice(0, limits.maxEntities);
  const computed = await offlineAggregationRows(registry, offline, view, kept.map((keys) => ({ keys, asOf: end })), features);
  return {
    basis: 'entities',
    times: kept.map((r) => r.__t as number),
    values: features.map((f) => computed.map((values) => servedValue(f, values?.[f.name] ?? null))),
    cutAt: cutAt(active, limits.maxEntities),
  };
}

/** The time of the first item past the limit, if the read returned one. */
function cutAt(items: readonly Record<string, unknown>[], limit: number): number | null {
  return items.length > limit ? (items[limit]!.__t as number) : null;
}
