/**
 * Keying the entity rows of a request, shared by online and historical retrieval: every row's canonical key
 * per entity, with every bad row and key collected, so one coded error lists them all before any store
 * call.
 */
import { SkewlessError } from '../errors.ts';
import { entityKey } from '../features/keys.ts';
import type { Entity } from '../registry/types.ts';

export interface EntityRowProblem {
  readonly row: number;
  /** The join key (or column) at fault; empty when the row itself is not an object. */
  readonly key: string;
  readonly reason: string;
}

/** One row's keys: entity name → canonical key and join key values (text, in key order). */
export type RowKeys = ReadonlyMap<string, { readonly key: string; readonly values: readonly string[] }>;

/** Keys every row for every entity; problems are appended, and a bad row gets an empty map. */
export function keyRows(entities: readonly Entity[], rows: readonly unknown[], shape: string, problems: EntityRowProblem[]): RowKeys[] {
  return rows.map((raw, row) => {
    const keys = new Map<string, { key: string; values: readonly string[] }>();
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ row, key: '', reason: `entity row must be an object with ${shape}` });
      return keys;
    }
    for (const entity of entities) {
      const k = entityKey(entity, raw as Record<string, unknown>);
      if (k.ok) keys.set(entity.name, { key: k.key, values: k.values });
      else problems.push({ row, key: k.field, reason: k.reason });
    }
    return keys;
  });
}

/** One error listing every problem, in row order (`rowErrors` in its extensions). */
export function badRowsError(code: string, problems: readonly EntityRowProblem[]): SkewlessError {
  const sorted = [...problems].sort((a, b) => a.row - b.row);
  const shown = sorted.slice(0, 10).map((p) => `row ${p.row}: ${p.reason}`).join('; ');
  return new SkewlessError(code, `${sorted.length} bad entity row(s): ${shown}${sorted.length > 10 ? '; …' : ''}`, { httpStatus: 400, details: { rowErrors: sorted } });
}
