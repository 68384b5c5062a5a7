/**
 * Computing on-demand views for a batch of rows, the one function both paths call: online with the
 * values read at T from the online store, historically with the values the as-of join found at T. Same
 * input shapes either way (feature values as stored, timestamps as epoch ms, null for a view with no
 * valid row; request fields checked and normalised by one function), same compiled code, same T: the
 * same answer.
 */
import { SkewlessError } from '../errors.ts';
import { toEpochMs } from '../features/time.ts';
import type { FieldType } from '../registry/types.ts';
import { badRowsError } from '../serving/entity-rows.ts';
import type { EntityRowProblem } from '../serving/entity-rows.ts';
import type { ViewValue } from '../serving/value-at.ts';
import type { OnDemandPlan } from './plan.ts';
import { ALL_STEPS } from './pool.ts';
import type { BatchInput, TransformPool } from './pool.ts';

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

/** A stored value as a transform sees it: timestamps as epoch ms (the SQL store returns Date objects). */
function inputValue(value: unknown): unknown {
  return value instanceof Date ? value.getTime() : (value ?? null);
}

/**
 * Runs the plan over every row: returns, per step (plan.views order), one ViewValue per row — PRESENT
 * with the outputs, or ERROR with the code and the row. Rows go to the sandbox in batches, in parallel
 * across the pool's isolates.
 */
export async function evaluateOnDemand(pool: TransformPool, plan: OnDemandPlan, rows: TransformRows, request: RequestColumns): Promise<ViewValue[][]> {
  const out: ViewValue[][] = plan.views.map(() => new Array<ViewValue>(rows.count));
  const batches: Promise<void>[] = [];
  for (let start = 0; start < rows.count; start += TRANSFORM_BATCH_ROWS) {
    const end = Math.min(rows.count, start + TRANSFORM_BATCH_ROWS);
    batches.push(runBatch(pool, plan, rows, request, start, end, out));
  }
  await Promise.all(batches);
  return out;
}

async function runBatch(pool: TransformPool, plan: OnDemandPlan, rows: TransformRows, request: RequestColumns, start: number, end: number, out: ViewValue[][]): Promise<void> {
  const n = end - start;
  const views: Record<string, Record<string, unknown[]>> = {};
  for (const view of plan.storedInputs) {
    const columns: Record<string, unknown[]> = {};
    for (const f of view.features) columns[f.name] = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const values = rows.input(start + i, view.name);
      for (const f of view.features) columns[f.name]![i] = values === null ? null : inputValue(values[f.name]);
    }
    views[view.name] = columns;
  }
  const batch: BatchInput = {
    n,
    asOf: Array.from({ length: n }, (_, i) => rows.asOf(start + i)),
    request: Object.fromEntries(Object.entries(request).map(([k, v]) => [k, v.slice(start, end)])),
    views,
  };
  const result = await pool.run(plan.sandbox, batch);
  const failed = plan.views.map(() => new Map<number, SkewlessError>());
  for (const e of result.errors) {
    const steps = e.step === ALL_STEPS ? plan.views.map((_, s) => s) : [e.step];
    for (const s of steps) {
      const view = plan.views[s]!;
      const error = new SkewlessError(e.code, `transform ${view.transform.name} (view ${view.name}) failed on row ${start + e.row}: ${e.message}`, {
        details: { view: view.name, transform: view.transform.name, sha256: view.transform.sha256, row: start + e.row },
      });
      if (!failed[s]!.has(e.row)) failed[s]!.set(e.row, error);
      for (const d of plan.dependents[s]!) {
        if (!failed[d]!.has(e.row)) {
          failed[d]!.set(e.row, new SkewlessError(e.code, `view ${plan.views[d]!.name} reads ${view.name}, which failed on row ${start + e.row}`, { details: { view: plan.views[d]!.name, row: start + e.row } }));
        }
      }
    }
  }
  plan.views.forEach((view, s) => {
    const columns = result.values[view.name] ?? {};
    for (let i = 0; i < n; i++) {
      const error = failed[s]!.get(i);
      if (error !== undefined) {
        out[s]![start + i] = { status: 'ERROR', values: null, eventTs: null, error };
        continue;
      }
      const values: Record<string, unknown> = {};
      for (const f of view.features) values[f.name] = columns[f.name]?.[i] ?? null;
      out[s]![start + i] = { status: 'PRESENT', values, eventTs: null, error: null };
    }
  });
}
