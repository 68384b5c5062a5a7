/**
 * `historicalFeatures`: training rows. Each entity row carries its join keys, `event_timestamp` (its
 * instant T) and any other columns (labels, ids), which come back unchanged and in input order; feature
 * columns follow, named by their refs as requested, holding exactly the values valid at that row's T.
 * The join runs inside the offline store (stores/sql/point-in-time.ts).
 */
import { SkewlessError } from '../errors.ts';
import { entityKey } from '../features/keys.ts';
import { toEpochMs, toIso } from '../features/time.ts';
import type { RowView } from '../registry/types.ts';
import { eventTimeColumn, resultColumn } from '../stores/sql/point-in-time.ts';
import type { AsOfPlan, AsOfView } from '../stores/sql/point-in-time.ts';
import { checkEntitySql } from '../stores/sql/entity-sql.ts';
import type { EntityRowAt } from '../stores/types.ts';
import type { ServingContext } from './context.ts';
import type { FeatureFrame } from './online-frame.ts';
import { selectFeatures } from './selection.ts';
import type { FeatureStatus } from './value-at.ts';

export interface HistoricalArgs {
  readonly features?: readonly string[] | null;
  readonly service?: string | null;
  readonly entities?: readonly unknown[] | null;
  readonly entitySql?: string | null;
  readonly asKnownAt?: boolean | null;
}

export async function historicalFrame(ctx: ServingContext, args: HistoricalArgs): Promise<FeatureFrame> {
  const selection = selectFeatures(ctx.registry, args);
  const onDemand = selection.views.filter((v) => v.kind === 'onDemand').map((v) => v.name);
  if (onDemand.length > 0) throw new SkewlessError('ON_DEMAND_NOT_SERVED', `on-demand views are not served historically yet: ${onDemand.join(', ')}`, { httpStatus: 400 });
  if ((args.entities != null) === (args.entitySql != null)) {
    throw new SkewlessError('INVALID_SELECTION', 'give either entities (rows with join keys and event_timestamp) or entitySql, not both and not neither', { httpStatus: 400 });
  }
  const max = ctx.limits.maxHistoricalRows;

  // Row views are joined in the store; aggregation views have no history until the materializer exists,
  // so they are null (NOT_FOUND), as they are online.
  const stored = selection.views.filter((v): v is RowView => v.kind === 'row');
  const plan = {
    joinKeys: selection.joinKeys,
    asKnownAt: args.asKnownAt === true,
    views: stored.map((view): AsOfView => ({
      view,
      entity: ctx.registry.entity(view.entity)!,
      features: selection.columns.filter((c) => c.view === view).map((c) => c.feature.name),
    })),
  };

  let entities: readonly unknown[];
  let joined: Record<string, unknown>[];
  if (args.entities != null) {
    entities = args.entities;
    if (entities.length > max) throw tooMany(max, `${entities.length} entity rows`);
    const rows = entityRows(selection.entities, entities);
    joined = rows.length === 0 || plan.views.length === 0 ? [] : await ctx.stores.offline.asOfJoin(plan, { kind: 'rows', rows });
  } else {
    const checked = checkEntitySql(args.entitySql!);
    if (!checked.ok) throw new SkewlessError('INVALID_ENTITY_SQL', `entitySql refused before running: ${checked.reason}`, { httpStatus: 400 });
    joined = await runEntitySql(ctx, plan, checked.sql, max);
    if (joined.length > max) throw tooMany(max, `entitySql produced more than ${max} rows`);
    entities = joined.map((r) => r.__row);
  }
  // Input columns first (join keys, event_timestamp, everything else), in first-seen order.
  const inputColumns: string[] = [...selection.joinKeys, 'event_timestamp'];
  const seen = new Set(inputColumns);
  for (const raw of entities) {
    for (const name of Object.keys(raw as object)) {
      if (!seen.has(name)) {
        seen.add(name);
        inputColumns.push(name);
      }
    }
  }
  const columns = [...inputColumns, ...selection.columns.map((c) => c.ref)];
  const viewIndex = new Map(stored.map((v, i) => [v.name, i]));

  const outRows: unknown[][] = [];
  const statuses: (FeatureStatus | null)[][] = [];
  const eventTimestamps: (number | null)[][] = [];
  entities.forEach((raw, r) => {
    const input = raw as Record<string, unknown>;
    const result = joined[r];
    const row: unknown[] = inputColumns.map((c) => input[c] ?? null);
    const status: (FeatureStatus | null)[] = inputColumns.map(() => null);
    const times: (number | null)[] = inputColumns.map(() => null);
    for (const column of selection.columns) {
      const i = viewIndex.get(column.view.name);
      const ts = i === undefined ? null : (result?.[eventTimeColumn(i)] as Date | null | undefined);
      const found = ts != null;
      const value = found ? result![resultColumn(i!, column.feature.name)] : null;
      row.push(value instanceof Date ? toIso(value.getTime()) : (value ?? null));
      status.push(found ? 'PRESENT' : 'NOT_FOUND');
      times.push(found ? ts.getTime() : null);
    }
    outRows.push(row);
    statuses.push(status);
    eventTimestamps.push(times);
  });
  return { columns, rows: outRows, statuses, eventTimestamps, errors: [], asOf: ctx.asOf };
}

function tooMany(max: number, what: string): SkewlessError {
  return new SkewlessError('TOO_MANY_ROWS', `${what}; historicalFeatures answers at most ${max} rows over GraphQL (--max-historical-rows)`, {
    httpStatus: 400,
    details: { limit: max },
  });
}

/** Runs the join with entitySql as its source, turning the database's refusals into coded errors. */
async function runEntitySql(ctx: ServingContext, plan: AsOfPlan, sql: string, max: number): Promise<Record<string, unknown>[]> {
  try {
    // One row past the limit tells "too many" from "exactly the limit".
    return await ctx.stores.offline.asOfJoin(plan, { kind: 'sql', sql, limit: max + 1, timeoutMs: ctx.limits.entitySqlTimeoutMs });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === '57014') throw new SkewlessError('ENTITY_SQL_TIMEOUT', `entitySql ran longer than ${ctx.limits.entitySqlTimeoutMs} ms and was cancelled`, { httpStatus: 400 });
    // SQLSTATE classes of the query's own making: syntax and access (42), data (22), read-only (25), unsupported (0A).
    if (typeof code === 'string' && /^(42|22|25|0A)/.test(code)) throw new SkewlessError('INVALID_ENTITY_SQL', `entitySql failed: ${message}`, { httpStatus: 400 });
    throw error;
  }
}

/** Join keys (as text) and T of every row; every bad row reported at once, before any work. */
function entityRows(entities: ReturnType<typeof selectFeatures>['entities'], rows: readonly unknown[]): EntityRowAt[] {
  const out: EntityRowAt[] = [];
  const problems: { row: number; key: string; reason: string }[] = [];
  rows.forEach((raw, row) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ row, key: '', reason: 'entity row must be an object with join keys and event_timestamp' });
      return;
    }
    const input = raw as Record<string, unknown>;
    const keys: Record<string, string> = {};
    for (const entity of entities) {
      const k = entityKey(entity, input);
      if (k.ok) entity.joinKeys.forEach((jk, i) => (keys[jk.name] = k.values[i]!));
      else problems.push({ row, key: k.field, reason: k.reason });
    }
    const asOf = toEpochMs(input.event_timestamp);
    if (asOf === undefined) {
      problems.push({ row, key: 'event_timestamp', reason: input.event_timestamp == null ? 'event_timestamp is missing' : 'event_timestamp must be ISO-8601 with a zone or epoch milliseconds' });
    }
    out.push({ keys, asOf: asOf ?? 0 });
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).map((p) => `row ${p.row}: ${p.reason}`).join('; ');
    throw new SkewlessError('INVALID_ENTITY_ROW', `${problems.length} bad entity row(s): ${shown}${problems.length > 10 ? '; …' : ''}`, { httpStatus: 400, details: { rowErrors: problems } });
  }
  return out;
}
