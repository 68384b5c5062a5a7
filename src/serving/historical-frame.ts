/**
 * `historicalFeatures` over GraphQL: the whole answer as a FeatureFrame, up to --max-historical-rows
 * entity rows (the export endpoint streams larger training sets).
 */
import { SkewlessError } from '../errors.ts';
import type { ServingContext } from './context.ts';
import { computeOnDemand, entitySqlError, inputColumnsOf, outputRow, prepareHistorical, readBatch } from './historical-query.ts';
import { FrameErrors } from './frame.ts';
import type { HistoricalArgs } from './historical-query.ts';
import type { FeatureFrame } from './frame.ts';
import type { Selection } from './selection.ts';

export type { HistoricalArgs } from './historical-query.ts';

/** `authorize`: as prepareHistorical's. */
export async function historicalFrame(ctx: ServingContext, args: HistoricalArgs, authorize?: (selection: Selection) => void): Promise<FeatureFrame> {
  const max = ctx.limits.maxHistoricalRows;
  if (args.entities != null && args.entities.length > max) throw tooMany(max, `${args.entities.length} entity rows`);
  const prepared = prepareHistorical(ctx, args, authorize);
  const { plan, source } = prepared;
  let entities: readonly unknown[];
  let joined: Record<string, unknown>[];
  if (source.kind === 'rows') {
    entities = source.entities;
    joined = source.rows.length === 0 || plan.views.length === 0 ? [] : await ctx.stores.offline.asOfJoin(plan, { kind: 'rows', rows: source.rows });
  } else {
    const timeoutMs = ctx.limits.entitySqlTimeoutMs;
    // One row past the limit tells "too many" from "exactly the limit".
    joined = await ctx.stores.offline.asOfJoin(plan, { kind: 'sql', sql: source.sql, limit: max + 1, timeoutMs }).catch((e: unknown) => entitySqlError(e, timeoutMs));
    if (joined.length > max) throw tooMany(max, `entitySql produced more than ${max} rows`);
    entities = joined.map((r) => r.__row);
  }
  const inputColumns = inputColumnsOf(prepared.selection, entities);
  const batch = await readBatch(ctx, prepared, entities as Record<string, unknown>[], joined);
  const computed = await computeOnDemand(ctx, prepared, batch);
  const errors = new FrameErrors();
  const rows = batch.inputs.map((_, r) => {
    const values = computed?.map((step) => step[r]!);
    values?.forEach((value, s) => errors.add(prepared.selection.onDemand!.views[s]!.name, value, r));
    return outputRow(prepared, inputColumns, batch, r, values);
  });
  return {
    columns: [...inputColumns, ...prepared.selection.columns.map((c) => c.ref)],
    rows: rows.map((r) => r.values),
    statuses: rows.map((r) => r.statuses),
    eventTimestamps: rows.map((r) => r.eventTimestamps),
    errors: errors.list(),
    asOf: ctx.asOf,
    transforms: prepared.selection.transforms,
  };
}

function tooMany(max: number, what: string): SkewlessError {
  return new SkewlessError('TOO_MANY_ROWS', `${what}; historicalFeatures answers at most ${max} rows over GraphQL (--max-historical-rows); POST the same arguments to /historical/export to stream any number`, {
    httpStatus: 400,
    details: { limit: max },
  });
}
