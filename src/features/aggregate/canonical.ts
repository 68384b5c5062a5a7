/**
 * One spelling per value, and one total order over values, for the aggregations that compare or collect
 * arbitrary values (FIRST, LAST, COUNT_DISTINCT, APPROX_COUNT_DISTINCT).
 *
 * Values arrive normalised (src/features/values.ts): numbers, strings, booleans, epoch-ms DateTimes, lists,
 * JSON. Their canonical text is JSON with object keys sorted and −0 written as 0, so `{b:1,a:2}` and
 * `{a:2,b:1}` are one distinct value and hash alike, and Postgres jsonb (which reorders keys) cannot change
 * what a stored value means.
 */

/** Canonical JSON text of a normalised value. */
export function canonicalText(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : JSON.stringify(value);
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalText).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalText(record[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot aggregate a value of type ${typeof value}`);
}

/**
 * Total order on values given with their canonical text: numbers numerically, everything else by canonical
 * text in UTF-16 code unit order. It is total because number texts (leading digit or '-') form one
 * contiguous block of the text order, which the numeric order only rearranges within itself.
 */
export function compareValues(a: unknown, aText: string, b: unknown, bText: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  return aText < bText ? -1 : aText > bText ? 1 : 0;
}
