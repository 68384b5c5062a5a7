/**
 * What both retrieval paths answer with: the FeatureFrame, and the pieces onlineFeatures,
 * historicalFeatures and the export share to fill one (value formatting, error grouping, the sandbox).
 */
import { SkewlessError } from '../errors.ts';
import { toIso } from '../features/time.ts';
import type { Feature } from '../registry/types.ts';
import type { TransformPool } from '../transforms/pool.ts';
import type { ServingContext } from './context.ts';
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

export interface FrameError {
  readonly view: string;
  readonly code: string;
  readonly message: string;
  readonly rows: readonly number[];
}

/** A value as the answer carries it: DateTime features as ISO-8601 (held as epoch ms, or a Date from SQL). */
export function servedValue(feature: Feature, v: unknown): unknown {
  if (v instanceof Date) return toIso(v.getTime());
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

/** The request's transform sandbox; a coded error if the gateway has none. */
export function transformPool(ctx: ServingContext): TransformPool {
  if (ctx.transforms === undefined) throw new SkewlessError('TRANSFORMS_UNAVAILABLE', 'this gateway was started without a transform sandbox', { httpStatus: 503 });
  return ctx.transforms;
}
