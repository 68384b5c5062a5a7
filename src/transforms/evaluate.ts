/**
 * Computing on-demand views for a batch of rows, the one function both paths call: online with the
 * values read at T from the online store, historically with the values the as-of join found at T. Same
 * input shapes either way (feature values as stored, timestamps as epoch ms, null for a view with no
 * valid row; request fields checked and normalised by one function), same compiled code, same T: the
 * same answer.
 */
import { SkewlessError } from '../errors.ts';
import { storedValue, toEpochMs } from '../features/time.ts';
import type { Feature, FieldType } from '../registry/types.ts';
import { badRowsError } from '../serving/entity-rows.ts';
import type { EntityRowProblem } from '../serving/entity-rows.ts';
import type { ViewValue } from '../serving/value-at.ts';
import type { OnDemandPlan } from './plan.ts';
import { ALL_STEPS } from './pool.ts';
import type { BatchInput, RowError, TransformPool } from './pool.ts';

/** Rows per sandbox call: one online request is one call; a historical chunk spreads over the pool. */
export const TRANSFORM_BATCH_ROWS = 4096;

export interface TransformRows {
  readonly count: number;
  /** T of row r, epoch ms. */
  asOf(r: number): number;
  /** Values of stored view `view` valid at T for row r, or null when it has none (not found, expired). */
  input(r: number, view: string): Readonly<Record<string, unknown>> | null;
}

/** Request fields by name, one value per row, checked against their declared types. */
export type RequestColumns = Readonly<Record<string, readonly unknown[]>>;

/**
 * Reads and checks the request fields of every row: every problem of every row at once, as
 * INVALID_REQUEST, before any transform runs. `source(r)` is where row r's fields are: online, the
 * request argument merged with the entity row; historically, the entity row's columns.
 */
export function requestColumns(plan: OnDemandPlan, count: number, source: (r: number) => Readonly<Record<string, unknown>>): RequestColumns {
  const columns: Record<string, unknown[]> = {};
  const problems: EntityRowProblem[] = [];
  for (const { field } of plan.requestFields) columns[field.name] = new Array<unknown>(count);
  for (let r = 0; r < count; r++) {
    const row = source(r);
    for (const { field, type } of plan.requestFields) {
      const raw = row[field.name];
      const value = requestValue(field.type, raw);
      if (value === INVALID || (value === null && !field.type.nullable)) {
        const declared = `${type.name}.${field.name}: ${typeLabel(field.type)}`;
        problems.push({ row: r, key: field.name, reason: raw === undefined || raw === null ? `request field ${field.name} is missing (${declared})` : `request field ${field.name} is ${JSON.stringify(raw)}, not ${typeLabel(field.type)} (${declared})` });
        continue;
      }
      columns[field.name]![r] = value;
    }
  }
  if (problems.length > 0) throw badRowsError('INVALID_REQUEST', problems);
  return columns;
}

const INVALID = Symbol('invalid');

function requestValue(type: FieldType, raw: unknown): unknown {
  if (raw === undefined || raw === null) return null;
  if (type.list) {
    if (!Array.isArray(raw)) return INVALID;
    const items = raw.map((v) => requestValue({ ...type, list: false, nullable: true }, v));
    return items.includes(INVALID) ? INVALID : items;
  }
  switch (type.scalar) {
    case 'Float':
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : INVALID;
    case 'Int':
      return Number.isInteger(raw) && Math.abs(raw as number) <= 2 ** 31 ? raw : INVALID;
    case 'Boolean':
      return typeof raw === 'boolean' ? raw : INVALID;
    case 'String':
    case 'ID':
      return typeof raw === 'string' ? raw : INVALID;
    case 'DateTime':
      return toEpochMs(raw) ?? INVALID;
    case 'JSON':
      return raw;
  }
}

function typeLabel(type: FieldType): string {
  const inner = type.list ? `[${type.scalar}]` : type.scalar;
  return type.nullable ? inner : `${inner}!`;
}


/**
 * Runs the plan over every row: returns, per step (plan.views order), one ViewValue per row — PRESENT
 * with the outputs, or ERROR with the code and the row. Rows go to the sandbox in batches, in parallel
 * across the pool's isolates.
 */
export async function evaluateOnDemand(pool: TransformPool, plan: OnDemandPlan, rows: TransformRows, request: RequestColumns): Promise<ViewValue[][]> {
  const out: ViewValue[][] = plan.views.map(() => new Array<ViewValue>(rows.count));
  // One batch (every online request): straight to the pool, without lanes to set up.
  if (rows.count <= TRANSFORM_BATCH_ROWS) {
    if (rows.count > 0) await runBatch(pool, plan, rows, request, 0, rows.count, out);
    return out;
  }
  let next = 0;
  let failed = false;
  // Each lane prepares a batch, waits for an isolate to run it and decodes the answer. One lane more than
  // there are isolates: while every isolate runs a batch, this thread prepares or decodes another. More
  // lanes would only hold more prepared rows in memory (all of them, when every batch started at once).
  const lane = async () => {
    try {
      while (next < rows.count && !failed) {
        const start = next;
        next = Math.min(rows.count, start + TRANSFORM_BATCH_ROWS);
        await runBatch(pool, plan, rows, request, start, next, out);
      }
    } catch (error) {
      // The other lanes stop at their next batch: the call has failed.
      failed = true;
      throw error;
    }
  };
  const lanes = Math.min(pool.options.size + 1, Math.ceil(rows.count / TRANSFORM_BATCH_ROWS));
  await Promise.all(Array.from({ length: lanes }, lane));
  return out;
}

async function runBatch(pool: TransformPool, plan: OnDemandPlan, rows: TransformRows, request: RequestColumns, start: number, end: number, out: ViewValue[][]): Promise<void> {
  const result = await pool.run(plan.sandbox, batchInput(plan, rows, request, start, end));
  const failed = rowErrors(plan, result.errors, start);
  plan.views.forEach((view, s) => {
    const columns = view.features.map((f) => result.values[view.name]?.[f.name]);
    for (let i = 0; i < end - start; i++) out[s]![start + i] = failed[s]!.get(i) ?? presentValue(view.features, columns, i);
  });
}

/** Rows start..end as the sandbox takes them: one column per stored feature and request field, and T. */
function batchInput(plan: OnDemandPlan, rows: TransformRows, request: RequestColumns, start: number, end: number): BatchInput {
  const n = end - start;
  const views: Record<string, Record<string, unknown[]>> = {};
  for (const view of plan.storedInputs) {
    const names = view.features.map((f) => f.name);
    const columns = names.map(() => new Array<unknown>(n));
    for (let i = 0; i < n; i++) {
      const values = rows.input(start + i, view.name);
      for (let f = 0; f < names.length; f++) columns[f]![i] = values === null ? null : storedValue(values[names[f]!]);
    }
    views[view.name] = Object.fromEntries(names.map((name, f) => [name, columns[f]!]));
  }
  const asOf = new Array<number>(n);
  for (let i = 0; i < n; i++) asOf[i] = rows.asOf(start + i);
  const requestSlice: Record<string, unknown[]> = {};
  for (const field in request) requestSlice[field] = request[field]!.slice(start, end);
  return { n, asOf, request: requestSlice, views };
}

/** The failed rows of a batch, per step (row index within the batch → its error value). */
function rowErrors(plan: OnDemandPlan, errors: readonly RowError[], start: number): Map<number, ViewValue>[] {
  const failed = plan.views.map(() => new Map<number, ViewValue>());
  const fail = (s: number, row: number, error: SkewlessError) => {
    if (!failed[s]!.has(row)) failed[s]!.set(row, { status: 'ERROR', values: null, eventTs: null, error });
  };
  for (const e of errors) {
    const steps = e.step === ALL_STEPS ? plan.views.map((_, s) => s) : [e.step];
    for (const s of steps) {
      const view = plan.views[s]!;
      fail(s, e.row, new SkewlessError(e.code, `transform ${view.transform.name} (view ${view.name}) failed on row ${start + e.row}: ${e.message}`, {
        details: { view: view.name, transform: view.transform.name, sha256: view.transform.sha256, row: start + e.row },
      }));
      for (const d of plan.dependents[s]!) {
        if (!failed[d]!.has(e.row)) {
          fail(d, e.row, new SkewlessError(e.code, `view ${plan.views[d]!.name} reads ${view.name}, which failed on row ${start + e.row}`, { details: { view: plan.views[d]!.name, row: start + e.row } }));
        }
      }
    }
  }
  return failed;
}

/** Row i's outputs, from the batch's output columns (one per feature, in the view's order). */
function presentValue(features: readonly Feature[], columns: readonly (readonly unknown[] | undefined)[], i: number): ViewValue {
  const values: Record<string, unknown> = {};
  for (let f = 0; f < features.length; f++) values[features[f]!.name] = columns[f]?.[i] ?? null;
  return { status: 'PRESENT', values, eventTs: null, error: null };
}
