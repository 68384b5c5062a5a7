/**
 * `onlineFeatures`: feature vectors for a list of entity rows at the request's instant T, as a frame —
 * join key columns, then one column per feature named by its ref — with a status and event time per value.
 */
import { SkewlessError } from '../errors.ts';
import { toIso } from '../features/time.ts';
import type { OnlineKey, OnlineRecord } from '../stores/types.ts';
import type { ServingContext } from './context.ts';
import { badRowsError, keyRows } from './entity-rows.ts';
import type { EntityRowProblem } from './entity-rows.ts';
import { selectFeatures } from './selection.ts';
import { viewValueAt } from './value-at.ts';
import type { FeatureStatus, ViewValue } from './value-at.ts';

export interface FeatureFrame {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
  /** Same shape as rows; null in join key columns. */
  readonly statuses: readonly (readonly (FeatureStatus | null)[])[];
  /** Same shape as rows: the event time of each value's stored row; null in join key columns. */
  readonly eventTimestamps: readonly (readonly (number | null)[])[];
  /** Values that could not be read, grouped by view and error code. */
  readonly errors: readonly FrameError[];
  readonly asOf: number;
}

export interface FrameError {
  readonly view: string;
  readonly code: string;
  readonly message: string;
  readonly rows: readonly number[];
}

export interface OnlineArgs {
  readonly features?: readonly string[] | null;
  readonly service?: string | null;
  readonly entities: readonly unknown[];
}

export async function onlineFrame(ctx: ServingContext, args: OnlineArgs): Promise<FeatureFrame> {
  const selection = selectFeatures(ctx.registry, args);
  if (selection.onDemand.length > 0) {
    throw new SkewlessError('ON_DEMAND_NOT_SERVED', `on-demand views are not served online yet: ${selection.onDemand.join(', ')}`, { httpStatus: 400 });
  }
  checkEntityCount(args.entities.length, ctx.limits.maxEntities);
  const problems: EntityRowProblem[] = [];
  const keys = keyRows(selection.entities, args.entities, selection.joinKeys.join(', '), problems);
  if (problems.length > 0) throw badRowsError('INVALID_ENTITY_KEY', problems);

  // One load per (row, view): the DataLoader turns them into one store call.
  const loads: OnlineKey[] = [];
  for (const rowKeys of keys) for (const view of selection.views) loads.push({ view: view.name, entity: view.entities[0]!, entityKey: rowKeys.get(view.entities[0]!)!.key });
  const entries = await ctx.online.loadMany(loads);

  const columns = [...selection.joinKeys, ...selection.columns.map((c) => c.ref)];
  const rows: unknown[][] = [];
  const statuses: (FeatureStatus | null)[][] = [];
  const eventTimestamps: (number | null)[][] = [];
  const errors = new Map<string, { view: string; code: string; message: string; rows: number[] }>();
  args.entities.forEach((raw, r) => {
    const input = raw as Record<string, unknown>;
    const values: ViewValue[] = selection.views.map((view, v) => viewValueAt(view, entries[r * selection.views.length + v] as OnlineRecord | null | SkewlessError, ctx.asOf));
    values.forEach((value, v) => {
      if (value.error === null) return;
      const view = selection.views[v]!.name;
      const id = `${view}\u0000${value.error.code}`;
      const group = errors.get(id) ?? { view, code: value.error.code, message: value.error.message, rows: [] };
      group.rows.push(r);
      errors.set(id, group);
    });
    const row: unknown[] = selection.joinKeys.map((k) => input[k]);
    const status: (FeatureStatus | null)[] = selection.joinKeys.map(() => null);
    const times: (number | null)[] = selection.joinKeys.map(() => null);
    for (const [c, column] of selection.columns.entries()) {
      const value = values[selection.columnViews[c]!]!;
      const v = value.values?.[column.feature.name] ?? null;
      row.push(column.feature.type.scalar === 'DateTime' && !column.feature.type.list && typeof v === 'number' ? toIso(v) : v);
      status.push(value.status);
      times.push(value.eventTs);
    }
    rows.push(row);
    statuses.push(status);
    eventTimestamps.push(times);
  });
  return { columns, rows, statuses, eventTimestamps, errors: [...errors.values()], asOf: ctx.asOf };
}

export function checkEntityCount(count: number, max: number): void {
  if (count > max) {
    throw new SkewlessError('TOO_MANY_ENTITIES', `${count} entities in one request; the limit is ${max} (--max-entities)`, { httpStatus: 400, details: { limit: max } });
  }
}
