/**
 * What historicalFeatures and the training-set export share: resolving the request into a plan for the
 * store's as-of join of row views (stores/sql/point-in-time.ts) and the aggregation views to compute
 * (aggregation-offline.ts), reading both for a batch of entity rows, and turning them into output rows.
 * Each entity row carries its join keys, `event_timestamp` (its instant T) and any other columns (labels,
 * ids), which come back unchanged and in input order, followed by one column per feature ref.
 */
import { SkewlessError } from '../errors.ts';
import { toEpochMs } from '../features/time.ts';
import type { AggregationView, Feature, RowView } from '../registry/types.ts';
import { checkEntitySql } from '../stores/sql/entity-sql.ts';
import { eventTimeColumn, resultColumn } from '../stores/sql/point-in-time.ts';
import type { AsOfPlan, AsOfView } from '../stores/sql/point-in-time.ts';
import type { EntityRowAt } from '../stores/types.ts';
import type { ServingContext } from './context.ts';
import { badRowsError, keyRows } from './entity-rows.ts';
import type { EntityRowProblem } from './entity-rows.ts';
import { offlineAggregationRows } from './aggregation-offline.ts';
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

/** An aggregation view computed at each row's T, and which of its features. */
export interface AggregationRead {
  readonly view: AggregationView;
  /** Its selected features, or all of them when an on-demand view reads it (the transform sees them all). */
  readonly features: readonly Feature[];
}

export interface PreparedHistorical {
  readonly selection: Selection;
  /** The as-of join of the row views. */
  readonly plan: AsOfPlan;
  /** For each feature column, the index of its view in the plan (-1: not joined). */
  readonly columnViews: readonly number[];
  /** The aggregation views to compute, selected or read by on-demand views. */
  readonly aggregations: readonly AggregationRead[];
  /** For each feature column, the index of its view in `aggregations` (-1: not an aggregation view). */
  readonly columnAggregations: readonly number[];
  /** Inline rows (validated), or the checked entitySql. */
  readonly source: { readonly kind: 'rows'; readonly entities: readonly unknown[]; readonly rows: readonly EntityRowAt[] } | { readonly kind: 'sql'; readonly sql: string };
  /** Request fields of the inline rows, checked here: computeOnDemand reuses them for exactly these rows. */
  readonly request?: RequestColumns;
}

/**
 * Checks the request and builds the join's plan; every refusal happens here, before any work. `authorize`
 * sees the resolved selection first and throws to refuse it (the gateway's read_offline check, src/auth).
 */
export function prepareHistorical(ctx: ServingContext, args: HistoricalArgs, authorize?: (selection: Selection) => void): PreparedHistorical {
  const selection = selectFeatures(ctx.registry, args);
  authorize?.(selection);
  if ((args.entities != null) === (args.entitySql != null)) {
    throw new SkewlessError('INVALID_SELECTION', 'give either entities (rows with join keys and event_timestamp) or entitySql, not both and not neither', { httpStatus: 400 });
  }
  // Row views are joined in the store; aggregation views are computed from tiles and archived events
  // (readBatch). Views on-demand views read are read whole: their transforms see every feature.
  const stored = selection.storedViews.filter((v): v is RowView => v.kind === 'row');
  const inputs = new Set(selection.onDemand?.storedInputs ?? []);
  const aggregations = selection.storedViews
    .filter((v): v is AggregationView => v.kind === 'aggregation')
    .map((view): AggregationRead => ({ view, features: inputs.has(view) ? view.features : view.features.filter((f) => selection.columns.some((c) => c.view === view && c.feature === f)) }));
  const columnAggregations = selection.columns.map((c) => aggregations.findIndex((a) => a.view === c.view));
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
    return { selection, plan, columnViews, aggregations, columnAggregations, source: { kind: 'rows', entities: args.entities, rows }, request };
  }
  const checked = checkEntitySql(args.entitySql!);
  if (!checked.ok) throw new SkewlessError('INVALID_ENTITY_SQL', `entitySql refused before running: ${checked.reason}`, { httpStatus: 400 });
  return { selection, plan, columnViews, aggregations, columnAggregations, source: { kind: 'sql', sql: checked.sql } };
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

/** A batch of entity rows with everything read for them at each row's T. */
export interface HistoricalBatch {
  /** The entity rows (inline rows as given; entitySql rows as the query produced them). */
  readonly inputs: readonly Record<string, unknown>[];
  /** The as-of join's result row for each entity row; empty when no row view is joined. */
  readonly joined: readonly (Record<string, unknown> | undefined)[];
  /** T of each row, epoch ms (undefined: an entitySql row without event_timestamp). */
  readonly times: readonly (number | undefined)[];
  /**
   * Per entry of `prepared.aggregations`, per row: the features' values at the row's T, or null for a row
   * that names no entity (an entitySql row with a missing or invalid join key, or no event_timestamp).
   */
  readonly aggregates: readonly (readonly (Readonly<Record<string, unknown>> | null)[])[];
}

/** T of each row: as the join saw it, or (no row view joined) from the row itself. */
function rowTimes(inputs: readonly Record<string, unknown>[], joined: readonly (Record<string, unknown> | undefined)[]): (number | undefined)[] {
  return inputs.map((input, r) => {
    const t = joined[r]?.__t;
    return t instanceof Date ? t.getTime() : toEpochMs(input.event_timestamp);
  });
}

/**
 * Reads the aggregation views of a batch whose row views are already joined: per view, two store queries
 * for the whole batch (aggregation-offline.ts). A store failure rejects, as the join's would.
 */
export async function readBatch(ctx: ServingContext, prepared: PreparedHistorical, inputs: readonly Record<string, unknown>[], joined: readonly (Record<string, unknown> | undefined)[]): Promise<HistoricalBatch> {
  const times = rowTimes(inputs, joined);
  if (prepared.aggregations.length === 0 || inputs.length === 0) return { inputs, joined, times, aggregates: [] };
  const rows = inputs.map((keys, r) => ({ keys, asOf: times[r] }));
  // Views at once: one view's queries run in the database while another's values are computed here.
  const aggregates = await Promise.all(prepared.aggregations.map(({ view, features }) => offlineAggregationRows(ctx.registry, ctx.stores.offline, view, rows, features))).catch((error: unknown) => {
    // A database error of these reads is the store's, never the caller's: without its SQLSTATE `code` it
    // cannot pass for a fault of an entitySql query (entitySqlError) when it fails inside the join's stream.
    if (error instanceof SkewlessError) throw error;
    throw new Error(`reading aggregation views failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  return { inputs, joined, times, aggregates };
}

/**
 * Output row r of a batch: the input's columns unchanged, then each feature as the join found it, as
 * its aggregation view computed it (always PRESENT, no event time), or as its transform computed it
 * (`computed`: this row's value of each on-demand step).
 */
export function outputRow(prepared: PreparedHistorical, inputColumns: readonly string[], batch: HistoricalBatch, r: number, computed?: readonly ViewValue[]): OutputRow {
  const input = batch.inputs[r]!;
  const result = batch.joined[r];
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
    const a = prepared.columnAggregations[c]!;
    if (a >= 0) {
      const found = batch.aggregates[a]![r] ?? null;
      values.push(servedValue(column.feature, found?.[column.feature.name] ?? null));
      statuses.push(found === null ? 'NOT_FOUND' : 'PRESENT');
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
 * The on-demand views of a batch, computed from what was read at each row's T (the join's row views,
 * the aggregation views): per step, one value per row. The entity rows' columns carry the request fields.
 */
export async function computeOnDemand(ctx: ServingContext, prepared: PreparedHistorical, batch: HistoricalBatch): Promise<ViewValue[][] | undefined> {
  const plan = prepared.selection.onDemand;
  const { inputs, joined, times, aggregates } = batch;
  if (plan === undefined || inputs.length === 0) return undefined;
  // The whole inline list (historicalFeatures) was checked by prepareHistorical; a slice of it (the
  // export) or entitySql rows are checked here.
  const request = prepared.request !== undefined && prepared.source.kind === 'rows' && inputs === prepared.source.entities ? prepared.request : requestColumns(plan, inputs.length, (r) => inputs[r]!);
  const columns = joinedColumns(prepared.plan);
  const aggregated = new Map(prepared.aggregations.map((a, i) => [a.view.name, aggregates[i]!]));
  const input = (r: number, view: string): Readonly<Record<string, unknown>> | null => {
    const computed = aggregated.get(view);
    if (computed !== undefined) return computed[r] ?? null;
    const result = joined[r];
    const at = columns.get(view);
    if (at === undefined || result == null || result[at.eventTime] == null) return null;
    const values: Record<string, unknown> = {};
    for (const [feature, column] of at.features) values[feature] = result[column] ?? null;
    return values;
  };
  return evaluateOnDemand(transformPool(ctx), plan, { count: inputs.length, asOf: (r) => times[r]!, input }, request);
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
