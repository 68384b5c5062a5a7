/**
 * Validation of feature rows for a row view, before anything is written: the push mutation and bulk
 * ingest both call it, and a batch with any bad row is refused whole, with every bad row listed.
 */
import { entityKey } from '../features/keys.ts';
import { toEpochMs } from '../features/time.ts';
import { normalizeValue } from '../features/values.ts';
import type { Entity, RowView } from '../registry/types.ts';
import { closest } from '../registry/suggest.ts';

/** One row ready to store: canonical key, timestamps as epoch ms, values normalised to their types. */
export interface FeatureRow {
  readonly entityKey: string;
  /** Join key values in the entity's key order, as text. */
  readonly keyValues: readonly string[];
  readonly eventTs: number;
  readonly createdTs: number;
  /** Every feature of the view, in declaration order; absent ones are null. */
  readonly values: Readonly<Record<string, unknown>>;
}

/** A problem with one row: its position in the batch, the field (null for the row itself) and why. */
export interface RowError {
  readonly index: number;
  readonly field: string | null;
  readonly reason: string;
}

export interface RowOptions {
  /** Used as created_timestamp when a row has none: the time the batch arrived, epoch ms. */
  readonly arrivalMs: number;
  /** Accept text spellings of values (CSV cells). Default false. */
  readonly fromText?: boolean;
  /** Stop collecting after this many errors (the batch is refused either way). Default 1000. */
  readonly maxErrors?: number;
}

export type RowsResult = { readonly ok: true; readonly rows: FeatureRow[] } | { readonly ok: false; readonly errors: RowError[]; readonly truncated: boolean };

const TIMESTAMPS = ['event_timestamp', 'created_timestamp'];

export function validateRows(view: RowView, entity: Entity, rows: readonly unknown[], options: RowOptions): RowsResult {
  const known = new Set([...entity.joinKeys.map((k) => k.name), ...TIMESTAMPS, ...view.features.map((f) => f.name)]);
  const maxErrors = options.maxErrors ?? 1000;
  const out: FeatureRow[] = [];
  const errors: RowError[] = [];
  let truncated = false;
  for (const [index, raw] of rows.entries()) {
    if (errors.length >= maxErrors) {
      truncated = true;
      break;
    }
    const fail = (field: string | null, reason: string) => void errors.push({ index, field, reason });
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      fail(null, 'a row must be an object of join keys, event_timestamp and feature values');
      continue;
    }
    const row = raw as Record<string, unknown>;
    const before = errors.length;
    for (const name of Object.keys(row)) {
      if (!known.has(name)) {
        const hint = closest(name, view.features.map((f) => f.name));
        fail(name, `view ${view.name} has no feature "${name}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`);
      }
    }
    const key = entityKey(entity, options.fromText ? textKeys(entity, row) : row);
    if (!key.ok) fail(key.field, key.reason);
    const eventTs = timestamp(row.event_timestamp, options.fromText);
    if (eventTs === undefined) fail('event_timestamp', row.event_timestamp == null || row.event_timestamp === '' ? 'is missing' : 'must be ISO-8601 with a zone or epoch milliseconds');
    const created = row.created_timestamp == null || row.created_timestamp === '' ? options.arrivalMs : timestamp(row.created_timestamp, options.fromText);
    if (created === undefined) fail('created_timestamp', 'must be ISO-8601 with a zone or epoch milliseconds');
    const values: Record<string, unknown> = {};
    for (const feature of view.features) {
      const v = normalizeValue(feature.type, row[feature.name], options.fromText);
      if (v.ok) values[feature.name] = v.value;
      else fail(feature.name, v.reason);
    }
    if (errors.length === before && key.ok && eventTs !== undefined && created !== undefined) {
      out.push({ entityKey: key.key, keyValues: key.values, eventTs, createdTs: created, values });
    }
  }
  return errors.length === 0 ? { ok: true, rows: out } : { ok: false, errors, truncated };
}

function timestamp(value: unknown, fromText = false): number | undefined {
  if (fromText && typeof value === 'string' && /^-?\d+$/.test(value)) return toEpochMs(Number(value));
  return toEpochMs(value);
}

/** CSV cells are text: integer keys arrive as "42". */
function textKeys(entity: Entity, row: Record<string, unknown>): Record<string, unknown> {
  const out = { ...row };
  for (const key of entity.joinKeys) {
    const v = row[key.name];
    if (key.type.scalar === 'Int' && typeof v === 'string' && /^-?\d+$/.test(v)) out[key.name] = Number(v);
  }
  return out;
}

/** `row 3, txn_count_7d: must be a 32-bit integer, got "x"` — one line per error. */
export function formatRowError(e: RowError): string {
  return `row ${e.index}${e.field === null ? '' : `, ${e.field}`}: ${e.reason}`;
}
