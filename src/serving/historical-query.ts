/**
 * What historicalFeatures and the training-set export share: resolving the request into a plan for the
 * store's as-of join (stores/sql/point-in-time.ts), and turning the join's result rows into output rows.
 * Each entity row carries its join keys, `event_timestamp` (its instant T) and any other columns (labels,
 * ids), which come back unchanged and in input order, followed by one column per feature ref.
 */
import { SkewlessError } from '../errors.ts';
import { toEpochMs } from '../features/time.ts';
import type { RowView } from '../registry/types.ts';
import { checkEntitySql } from '../stores/sql/entity-sql.ts';
import { eventTimeColumn, resultColumn } from '../stores/sql/point-in-time.ts';
import type { AsOfPlan, AsOfView } from '../stores/sql/point-in-time.ts';
import type { EntityRowAt } from '../stores/types.ts';
import type { ServingContext } from './context.ts';
import { badRowsError, keyRows } from './entity-rows.ts';
import type { EntityRowProblem } from './entity-rows.ts';
import { selectFeatures } from './selection.ts';
import type { Selection } from './selection.ts';
import type { FeatureStatus, ViewValue } from './value-at.ts';
import { servedValue, transformPool } from './frame.ts';
import { evaluateOnDemand, requestColumns } from '../transforms/evaluate.ts';
import type { RequestColumns } from '../transforms/evaluate.ts';

export interface HistoricalArgs {
  readonly features?: readonly string[] | null;
  readonly service?: string | null;
  readonly entities?: readonly unknown[] | null;
  readonly entitySql?: string | null;
  readonly asKnownAt?: boolean | null;
}

export interface PreparedHistorical {
  readonly selection: Selection;
  readonly plan: AsOfPlan;
  /** For each feature column, the index of its view in the plan (-1: not joined, always null). */
  readonly columnViews: readonly number[];
  /** Inline rows (validated), or the checked entitySql. */
  readonly source: { readonly kind: 'rows'; readonly entities: readonly unknown[]; readonly rows: readonly EntityRowAt[] } | { readonly kind: 'sql'; readonly sql: string };
  /** Request fields of the inline rows, checked here: computeOnDemand reuses them for exactly these rows. */
  readonly request?: RequestColumns;
}

/** Checks the request and builds the join's plan; every refusal happens here, before any work. */
export function prepareHistorical(ctx: ServingContext, args: HistoricalArgs): PreparedHistorical {
  const selection = selectFeatures(ctx.registry, args);
  if ((args.entities != null) === (args.entitySql != null)) {
    throw new SkewlessError('INVALID_SELECTION', 'give either entities (rows with join keys and event_timestamp) or entitySql, not both and not neither', { httpStatus: 400 });
  }
  // Row views are joined in the store; aggregation views have no history until the materializer exists,
  // so they are null (NOT_FOUND), as they are online.
  // Views on-demand views read are joined whole: their transforms see every feature.
  const stored = selection.storedViews.filter((v): v is RowView => v.kind === 'row');
  const inputs = new Set(selection.onDemand?.storedInputs ?? []);
  const plan: AsOfPlan = {
    joinKeys: selection.joinKeys,
    asKnownAt: args.asKnownAt === true,
    views: stored.map((view): AsOfView => ({
      view,
      entity: ctx.registry.entity(view.entity)!,
      features: inputs.has(view) ? view.features.map((f) => f.name) : selection.columns.filter((c) => c.view === view).map((c) => c.feature.name),
    })),
  };
  const columnViews = selection.columns.map((c) => plan.views.findIndex((v) => v.view === c.view));
  if (args.entities != null) {
    const rows = entityRows(selection.entities, args.entities);
    // Request fields of inline rows are checked now, before the join; entitySql rows as they arrive.
    const request = selection.onDemand === undefined ? undefined : requestColumns(selection.onDemand, args.entities.length, (r) => args.entities![r] as Record<string, unknown>);
    return { selection, plan, columnViews, source: { kind: 'rows', entities: args.entities, rows }, request };
  }
  const checked = checkEntitySql(args.entitySql!);
  if (!checked.ok) throw new SkewlessError('INVALID_ENTITY_SQL', `entitySql refused before running: ${checked.reason}`, { httpStatus: 400 });
  return { selection, plan, columnViews, source: { kind: 'sql', sql: checked.sql } };
}

/** Input columns (join keys, event_timestamp, then the rows' other columns in first-seen order). */
export function inputColumnsOf(selection: Selection, entities: Iterable<unknown>): string[] {
  const columns: string[] = [...selection.joinKeys, 'event_timestamp'];
  const seen = new Set(columns);
  for (const raw of entities) {
    for (const name of Object.keys(raw as object)) {
      if (!seen.has(name)) {
        seen.add(name);
        columns.push(name);
      }
    }
  }
  return columns;
}

export interface OutputRow {
  readonly values: unknown[];
  readonly statuses: (FeatureStatus | null)[];
  readonly eventTimestamps: (number | null)[];
}

/**
 * One output row: the input's columns unchanged, then each feature as the join found it, or as its
 * transform computed it (`computed`: this row's value of each on-demand step).
 */
export function outputRow(prepared: PreparedHistorical, inputColumns: readonly string[], input: Record<string, unknown>, result: Record<string, unknown> | undefined, computed?: readonly ViewValue[]): OutputRow {
  const values: unknown[] = inputColumns.map((c) => input[c] ?? null);
  const statuses: (FeatureStatus | null)[] = inputColumns.map(() => null);
  const eventTimestamps: (number | null)[] = inputColumns.map(() => null);
  const { selection } = prepared;
  selection.columns.forEach((column, c) => {
    const step = selection.viewSteps[selection.columnViews[c]!]!;
    if (step >= 0) {
      const value = computed![step]!;
      values.push(servedValue(column.feature, value.values?.[column.feature.name] ?? null));
      statuses.push(value.status);
      eventTimestamps.push(null);
      return;
    }
    const i = prepared.columnViews[c]!;
    const ts = i === -1 ? null : (result?.[eventTimeColumn(i)] as Date | null | undefined);
    const found = ts != null;
    values.push(servedValue(column.feature, found ? (result![resultColumn(i, column.feature.name)] ?? null) : null));
    statuses.push(found ? 'PRESENT' : 'NOT_FOUND');
    eventTimestamps.push(found ? ts.getTime() : null);
  });
  return { values, statuses, eventTimestamps };
}

/**
 * The on-demand views of a batch of output rows, computed from what the join found at each row's T:
 * per step, one value per row. `inputs` are the entity rows (their columns carry the request fields).
 */
export async function computeOnDemand(ctx: ServingContext, prepared: PreparedHistorical, inputs: readonly Record<string, unknown>[], joined: readonly (Record<string, unknown> | undefined)[]): Promise<ViewValue[][] | undefined> {
  const plan = prepared.selection.onDemand;
  if (plan === undefined || inputs.length === 0) return undefined;
  // The whole inline list (historicalFeatures) was checked by prepareHistorical; a slice of it (the
  // export) or entitySql rows are checked here.
  const request = prepared.request !== undefined && prepared.source.kind === 'rows' && inputs === prepared.source.entities ? prepared.request : requestColumns(plan, inputs.length, (r) => inputs[r]!);
  const asOf = (r: number): number => {
    const t = joined[r]?.__t;
    if (t instanceof Date) return t.getTime();
    return toEpochMs(inputs[r]!.event_timestamp)!;
  };
  const columns = joinedColumns(prepared.plan);
  const input = (r: number, view: string): Record<string, unknown> | null => {
    const result = joined[r];
    const at = columns.get(view);
    if (at === undefined || result == null || result[at.eventTime] == null) return null;
    const values: Record<string, unknown> = {};
    for (const [feature, column] of at.features) values[feature] = result[column] ?? null;
    return values;
  };
  return evaluateOnDemand(transformPool(ctx), plan, { count: inputs.length, asOf, input }, request);
}

/**
 * Where each joined view's values are in a join result row, by view name: the column names are built
 * once per batch, not once per row and feature.
 */
function joinedColumns(plan: AsOfPlan): Map<string, { readonly eventTime: string; readonly features: readonly (readonly [string, string])[] }> {
  return new Map(plan.views.map((v, i) => [v.view.name, { eventTime: eventTimeColumn(i), features: v.features.map((f) => [f, resultColumn(i, f)] as const) }]));
}

/** The database's refusals of an entitySql query, as coded errors; anything else is rethrown. */
export function entitySqlError(error: unknown, timeoutMs: number): never {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === '57014') throw new SkewlessError('ENTITY_SQL_TIMEOUT', `entitySql ran longer than ${timeoutMs} ms and was cancelled`, { httpStatus: 400 });
  // SQLSTATE classes of the query's own making: syntax and access (42), data (22), read-only (25), unsupported (0A).
  if (typeof code === 'string' && /^(42|22|25|0A)/.test(code)) throw new SkewlessError('INVALID_ENTITY_SQL', `entitySql failed: ${message}`, { httpStatus: 400 });
  throw error;
}

/** Join keys (as text) and T of every row; every bad row reported at once, before any work. */
function entityRows(entities: Selection['entities'], rows: readonly unknown[]): EntityRowAt[] {
  const problems: EntityRowProblem[] = [];
  const keyed = keyRows(entities, rows, 'join keys and event_timestamp', problems);
  const out = rows.map((raw, row): EntityRowAt => {
    const keys: Record<string, string> = {};
    for (const entity of entities) entity.joinKeys.forEach((jk, i) => (keys[jk.name] = keyed[row]!.get(entity.name)?.values[i] ?? ''));
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { keys, asOf: 0 };
    const t = (raw as Record<string, unknown>).event_timestamp;
    const asOf = toEpochMs(t);
    if (asOf === undefined) problems.push({ row, key: 'event_timestamp', reason: t == null ? 'event_timestamp is missing' : 'event_timestamp must be ISO-8601 with a zone or epoch milliseconds' });
    return { keys, asOf: asOf ?? 0 };
  });
  if (problems.length > 0) throw badRowsError('INVALID_ENTITY_ROW', problems);
  return out;
}
