/**
 * PostgreSQL array literals built here rather than by node-postgres, whose encoder quotes and
 * regex-escapes every element, numbers included: for the materializer's parameters of tens of thousands
 * of elements that was about a tenth of a commit's JavaScript. Pass the result as a text parameter cast to
 * the array's type (`$1::bigint[]`, `$2::text[]`); PostgreSQL and PGlite parse it the same way.
 */

/** `{a,b,NULL}` with each non-null element spelled by `element`. */
function arrayLiteral<T>(values: readonly (T | null | undefined)[], element: (value: T) => string): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : element(v);
  }
  return `${out}}`;
}

/** `{1,2.5,NULL}`: finite numbers in JavaScript's shortest round-trip form, which PostgreSQL reads exactly. */
export function numberArray(values: readonly (number | null | undefined)[]): string {
  return arrayLiteral(values, (v) => {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
    return String(v);
  });
}

const NEEDS_ESCAPE = /["\\]/;

/** `{"a","b \"q\"",NULL}`: every element quoted (so empty strings, spaces, commas and "NULL" stay text). */
export function textArray(values: readonly (string | null | undefined)[]): string {
  return arrayLiteral(values, (v) => `"${NEEDS_ESCAPE.test(v) ? v.replace(/["\\]/g, '\\$&') : v}"`);
}
