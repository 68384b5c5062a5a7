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
import type { Selection } from './selection.ts';
import { viewValueAt } from './value-at.ts';
import type { Feature } from '../registry/types.ts';
import { evaluateOnDemand, requestColumns } from '../transforms/evaluate.ts';
import type { TransformPool } from '../transforms/pool.ts';
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
  /** The code behind the on-demand columns: recorded with what it produced. */
  readonly transforms: readonly TransformUsed[];
}

export interface TransformUsed {
  readonly view: string;
  readonly transform: string;
  readonly sha256: string;
}

export function transformsUsed(selection: Selection): TransformUsed[] {
  return (selection.onDemand?.views ?? []).map((v) => ({ view: v.name, transform: v.transform.name, sha256: v.transform.sha256 }));
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
  /**
   * Request fields for on-demand views: one object per entity row, or one object for every row. They
   * may also travel as columns of the entity rows; `request` wins where both give a field.
   */
  readonly request?: readonly unknown[] | null;
}

export async function onlineFrame(ctx: ServingContext, args: OnlineArgs): Promise<FeatureFrame> {
  const selection = selectFeatures(ctx.registry, args);
  checkEntityCount(args.entities.length, ctx.limits.maxEntities);
  const problems: EntityRowProblem[] = [];
  const keys = keyRows(selection.entities, args.entities, selection.joinKeys.join(', '), problems);
  if (problems.length > 0) throw badRowsError('INVALID_ENTITY_KEY', problems);
  const plan = selection.onDemand;
  // Request fields are checked before any read: a bad request costs nothing.
  const request = plan === undefined ? undefined : requestColumns(plan, args.entities.length, requestSource(args));

  // One load per (row, stored view): the DataLoader turns them into one store call.
  const stored = selection.storedViews;
  const loads: OnlineKey[] = [];
  for (const rowKeys of keys) for (const view of stored) loads.push({ view: view.name, entity: view.entities[0]!, entityKey: rowKeys.get(view.entities[0]!)!.key });
  const entries = await ctx.online.loadMany(loads);
  const readValues = entries.map((entry, i) => viewValueAt(stored[i % stored.length]!, entry as OnlineRecord | null | SkewlessError, ctx.asOf));
  const storedValues = (r: number, v: number): ViewValue => readValues[r * stored.length + v]!;

  // On-demand views: every row of the request in one sandbox call, fed the values just read at T.
  let computed: ViewValue[][] = [];
  if (plan !== undefined) {
    const inputOf = (r: number, view: string) => {
      const value = storedValues(r, selection.storedIndex.get(view)!);
      return value.status === 'PRESENT' ? value.values : null;
    };
    computed = await evaluateOnDemand(transformPool(ctx), plan, { count: args.entities.length, asOf: () => ctx.asOf, input: inputOf }, request!);
  }

  const columns = [...selection.joinKeys, ...selection.columns.map((c) => c.ref)];
  const rows: unknown[][] = [];
  const statuses: (FeatureStatus | null)[][] = [];
  const eventTimestamps: (number | null)[][] = [];
  const errors = new FrameErrors();
  args.entities.forEach((raw, r) => {
    const input = raw as Record<string, unknown>;
    const values: ViewValue[] = selection.views.map((_, v) => (selection.viewSteps[v]! >= 0 ? computed[selection.viewSteps[v]!]![r]! : storedValues(r, selection.viewStored[v]!)));
    values.forEach((value, v) => errors.add(selection.views[v]!.name, value, r));
    const row: unknown[] = selection.joinKeys.map((k) => input[k]);
    const status: (FeatureStatus | null)[] = selection.joinKeys.map(() => null);
    const times: (number | null)[] = selection.joinKeys.map(() => null);
    for (const [c, column] of selection.columns.entries()) {
      const value = values[selection.columnViews[c]!]!;
      row.push(servedValue(column.feature, value.values?.[column.feature.name] ?? null));
      status.push(value.status);
      times.push(value.eventTs);
    }
    rows.push(row);
    statuses.push(status);
    eventTimestamps.push(times);
  });
  return { columns, rows, statuses, eventTimestamps, errors: errors.list(), asOf: ctx.asOf, transforms: transformsUsed(selection) };
}

/** Row r's request fields: its entity row's columns, overridden by `request` (per row, or one for all). */
function requestSource(args: OnlineArgs): (r: number) => Readonly<Record<string, unknown>> {
  const request = args.request ?? [];
  const n = args.entities.length;
  if (request.length > 1 && request.length !== n) {
    throw new SkewlessError('INVALID_REQUEST', `request has ${request.length} objects for ${n} entity rows: give one per row, or one for all`, { httpStatus: 400 });
  }
  const bad = request.findIndex((o) => o === null || typeof o !== 'object' || Array.isArray(o));
  if (bad !== -1) throw new SkewlessError('INVALID_REQUEST', `request ${bad} is not an object of request fields`, { httpStatus: 400 });
  const objects = request as readonly Record<string, unknown>[];
  return (r) => ({ ...(args.entities[r] as Record<string, unknown>), ...(objects.length === 1 ? objects[0] : objects[r]) });
}

/** A value as the answer carries it: DateTime features as ISO-8601 (they are held as epoch ms). */
export function servedValue(feature: Feature, v: unknown): unknown {
  return feature.type.scalar === 'DateTime' && !feature.type.list && typeof v === 'number' ? toIso(v) : v;
}

/** Values that could not be served, grouped by view and code, with the rows they hit. */
export class FrameErrors {
  readonly #groups = new Map<string, { view: string; code: string; message: string; rows: number[] }>();

  add(view: string, value: ViewValue, row: number): void {
    if (value.error === null) return;
    const id = `${view}\u0000${value.error.code}`;
    const group = this.#groups.get(id) ?? { view, code: value.error.code, message: value.error.message, rows: [] };
    group.rows.push(row);
    this.#groups.set(id, group);
  }

  list(): FrameError[] {
    return [...this.#groups.values()];
  }
}

export function transformPool(ctx: ServingContext): TransformPool {
  if (ctx.transforms === undefined) throw new SkewlessError('TRANSFORMS_UNAVAILABLE', 'this gateway was started without a transform sandbox', { httpStatus: 503 });
  return ctx.transforms;
}

export function checkEntityCount(count: number, max: number): void {
  if (count > max) {
    throw new SkewlessError('TOO_MANY_ENTITIES', `${count} entities in one request; the limit is ${max} (--max-entities)`, { httpStatus: 400, details: { limit: max } });
  }
}
