/**
 * An aggregation view's values for one entity at T, from the offline store: each feature's completed
 * tiles in [floor_hop(T − window), floor_hop(T)) and the archived raw events of the head, [floor_hop(T), T),
 * finalised by the one function every path uses (features/aggregate/finalize.ts). Values therefore decay
 * with no new events: T moves, the window moves, old tiles drop out.
 *
 * One entity at a time for now; the historical join will batch this across entity rows.
 */
import { aggregatorFor } from '../features/aggregate/aggregators.ts';
import { valueAt } from '../features/aggregate/finalize.ts';
import { windowPlan } from '../features/aggregate/tiles.ts';
import { entityKey } from '../features/keys.ts';
import { storedValue } from '../features/time.ts';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView } from '../registry/types.ts';
import type { OfflineStore } from '../stores/types.ts';
import { ident } from '../stores/sql/history.ts';
import { eventsTable, tilesTable } from '../stores/sql/materializer-tables.ts';

export async function offlineAggregationValues(registry: Registry, offline: OfflineStore, view: AggregationView, keys: Readonly<Record<string, string>>, asOf: number): Promise<Record<string, unknown>> {
  const entity = registry.entity(view.entity)!;
  const source = registry.source(view.source)!;
  const key = entityKey(entity, keys);
  if (!key.ok) throw new Error(key.reason);
  const plans = view.features.map((f) => windowPlan(f.aggregation!, asOf));
  const earliestHead = Math.min(...plans.map((p) => p.head));
  const tiles = await offline.query<{ feature: string; tile_start: string; tile_end: string; partial: unknown }>(
    `select feature, tile_start, tile_end, partial from ${tilesTable(view.name)} where entity_key = $1 and tile_start >= $2 and tile_start < $3`,
    [key.key, Math.min(...plans.map((p) => p.from)), Math.max(...plans.map((p) => p.head))],
  );
  const where = entity.joinKeys.map((k, i) => `${ident(k.name)} = $${i + 1}`).join(' and ');
  const ts = ident(source.timestampField);
  const events = await offline.query(`select * from ${eventsTable(source.name)} where ${where} and ${ts} >= $${entity.joinKeys.length + 1} and ${ts} < $${entity.joinKeys.length + 2}`, [
    ...key.values,
    new Date(earliestHead).toISOString(),
    new Date(asOf).toISOString(),
  ]);
  const rows = events.map((e) => {
    const row: Record<string, unknown> = {};
    for (const f of source.fields) row[f.name] = storedValue(e[f.name]);
    return { time: row[source.timestampField] as number, row };
  });
  const out: Record<string, unknown> = {};
  view.features.forEach((feature, i) => {
    const plan = plans[i]!;
    const spans = tiles
      .filter((t) => t.feature === feature.name && Number(t.tile_start) < plan.head)
      .map((t) => ({ start: Number(t.tile_start), end: Number(t.tile_end), partial: aggregatorFor(feature.aggregation!).decode(t.partial) }));
    out[feature.name] = valueAt(feature, spans, rows.filter((r) => r.time >= plan.head), asOf);
  });
  return out;
}
