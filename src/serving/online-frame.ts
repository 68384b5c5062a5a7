/**
 * `onlineFeatures`: feature vectors for a list of entity rows at the request's instant T, as a frame —
 * join key columns, then one column per feature named by its ref — with a status and event time per value.
 */
import { SkewlessError } from '../errors.ts';
import type { OnlineEntry, OnlineKey } from '../stores/types.ts';
import type { ServingContext } from './context.ts';
import { badRowsError, keyRows } from './entity-rows.ts';
import type { EntityRowProblem } from './entity-rows.ts';
import { FrameErrors, servedValue, transformPool } from './frame.ts';
import type { FeatureFrame } from './frame.ts';
import { selectFeatures } from './selection.ts';
import type { Selection } from './selection.ts';
import { onlineKeyOf, viewValueAt } from './value-at.ts';
import { evaluateOnDemand, requestColumns } from '../transforms/evaluate.ts';
import type { FeatureStatus, ViewValue } from './value-at.ts';

export type { FeatureFrame, FrameError } from './frame.ts';

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

/**
 * `authorize` sees the resolved selection first and throws to refuse it (the gateway's read_online check,
 * src/auth): decided once per request, before any read.
 */
export async function onlineFrame(ctx: ServingContext, args: OnlineArgs, authorize?: (selection: Selection) => void): Promise<FeatureFrame> {
  const selection = selectFeatures(ctx.registry, args);
  authorize?.(selection);
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
  for (const rowKeys of keys) for (const view of stored) loads.push(onlineKeyOf(view, view.entities[0]!, rowKeys.get(view.entities[0]!)!.key, ctx.asOf));
  const entries = await ctx.online.loadMany(loads);
  const readValues = entries.map((entry, i) => viewValueAt(stored[i % stored.length]!, entry as OnlineEntry, ctx.asOf));
  const storedValues = (r: number, v: number): ViewValue => readValues[r * stored.length + v]!;

  // On-demand views: every row of the request in one sandbox call, fed the values just read at T.
  let computed: ViewValue[][] = [];
  if (plan !== undefined) {
    const inputOf = (r: number, view: string) => {
      const value = storedValues(r, selection.storedIndex.get(view)!);
      return value.status === 'PRESENT' ? value.values : null;
    };
    computed = await evaluateOnDemand(transformPool(ctx), plan, { count: args.entities.length, asOf: () => ctx.asOf, input: inputOf }, request!);
    // A transform is never answered from a null standing in for a value that could not be read: where a
    // stored input failed, the views reading it (directly or through a chain) carry that input's error.
    plan.views.forEach((_, s) => {
      const inputs = plan.storedOf[s]!;
      for (let r = 0; r < args.entities.length; r++) {
        const failed = inputs.map((v) => storedValues(r, selection.storedIndex.get(v)!)).find((value) => value.status === 'ERROR');
        if (failed !== undefined) computed[s]![r] = failed;
      }
    });
    // Stored views were recorded by the loader as they were read; computed ones are recorded here.
    ctx.parity?.frame(plan, keys, request!, computed);
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
  return { columns, rows, statuses, eventTimestamps, errors: errors.list(), asOf: ctx.asOf, transforms: selection.transforms };
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

export function checkEntityCount(count: number, max: number): void {
  if (count > max) {
    throw new SkewlessError('TOO_MANY_ENTITIES', `${count} entities in one request; the limit is ${max} (--max-entities)`, { httpStatus: 400, details: { limit: max } });
  }
}
