/**
 * Time is UTC at millisecond precision everywhere (DESIGN.md). Timestamps arrive as ISO-8601 strings or
 * epoch milliseconds and are held as epoch milliseconds; they leave as ISO-8601 strings.
 */

// ISO-8601 with an explicit zone: a timestamp without one would mean different instants on different hosts.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Epoch ms for an ISO-8601 string with a zone, or for epoch ms given as a number; undefined otherwise. */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value !== 'string' || !ISO_WITH_ZONE.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * A value as read from a store, in the domain's form: the SQL stores return DateTime as Date objects,
 * which become epoch ms; a missing value is null.
 */
export function storedValue(value: unknown): unknown {
  return value instanceof Date ? value.getTime() : (value ?? null);
}

/** ISO-8601 in UTC with milliseconds, e.g. `2026-11-21T05:31:09.000Z`. */
export function toIso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
