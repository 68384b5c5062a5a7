/**
 * The per-request batcher for on-demand views asked for through typed fields (`user { scored(request:) }`).
 * Each field resolver reads its stored inputs through the online loader (so they share the request's one
 * store round trip with every other view) and then asks this loader for its computed value; every row of
 * one view asked for in the same tick goes to the sandbox in one call. Built per request, like the online
 * loader: its cache is only valid at the request's instant T.
 */
import DataLoader from 'dataloader';
import type { OnDemandView } from '../registry/types.ts';
import type { OnDemandPlan } from '../transforms/plan.ts';
import type { TransformPool } from '../transforms/pool.ts';
import { evaluateOnDemand } from '../transforms/evaluate.ts';
import type { RequestColumns } from '../transforms/evaluate.ts';
import type { ViewValue } from './value-at.ts';

/** One row of one on-demand view: what its transform reads, already read and checked. */
export interface OnDemandRow {
  readonly view: OnDemandView;
  /** The plan computing this view alone (its chained inputs first), built once with the schema. */
  readonly plan: OnDemandPlan;
  /** Values of each stored input at T by view name; null when it has none valid at T. */
  readonly inputs: Readonly<Record<string, Readonly<Record<string, unknown>> | null>>;
  /** Request fields as `requestColumns` normalised them, one value each. */
  readonly request: RequestColumns;
  /** Identifies equal rows: the view, the entity keys and the request. */
  readonly id: string;
}

export type OnDemandLoader = DataLoader<OnDemandRow, ViewValue, string>;

export function createOnDemandLoader(pool: () => TransformPool, asOf: number): OnDemandLoader {
  return new DataLoader<OnDemandRow, ViewValue, string>((rows) => computeRows(pool(), asOf, rows), {
    cacheKeyFn: (row) => row.id,
    maxBatchSize: Infinity,
  });
}

/** Rows grouped by view, one sandbox call per view (in parallel across the pool), answers in input order. */
async function computeRows(pool: TransformPool, asOf: number, rows: readonly OnDemandRow[]): Promise<ViewValue[]> {
  const byView = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const group = byView.get(row.view.name);
    if (group === undefined) byView.set(row.view.name, [i]);
    else group.push(i);
  });
  const out = new Array<ViewValue>(rows.length);
  await Promise.all(
    [...byView.values()].map(async (indexes) => {
      const { plan } = rows[indexes[0]!]!;
      const request: Record<string, unknown[]> = {};
      for (const { field } of plan.requestFields) request[field.name] = indexes.map((i) => rows[i]!.request[field.name]![0]);
      const computed = await evaluateOnDemand(pool, plan, { count: indexes.length, asOf: () => asOf, input: (r, view) => rows[indexes[r]!]!.inputs[view] ?? null }, request);
      // The view asked for is the plan's last step: its chained inputs are computed before it.
      const values = computed[plan.views.length - 1]!;
      indexes.forEach((i, r) => (out[i] = values[r]!));
    }),
  );
  return out;
}
