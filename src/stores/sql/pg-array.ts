/**
 * PostgreSQL array literals built here rather than by node-postgres, whose encoder quotes and
 * regex-escapes every element, numbers included: for the materializer's parameters of tens of thousands
 * of elements that was about a tenth of a commit's JavaScript. Pass the result as a text parameter cast to
 * the array's type (`$1::bigint[]`, `$2::text[]`); PostgreSQL and PGlite parse it the same way.
 */

/** `{1,2.5,NULL}`: finite numbers in JavaScript's shortest round-trip form, which PostgreSQL reads exactly. */
export function numberArray(values: readonly (number | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (Number.isFinite(v)) out += String(v);
    else throw new RangeError(`not a finite number: ${v}`);
  }
  return `${out}}`;
}

const NEEDS_ESCAPE = /["\\]/;

/** `{"a","b \"q\"",NULL}`: every element quoted (so empty strings, spaces, commas and "NULL" stay text). */
export function textArray(values: readonly (string | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else out += `"${NEEDS_ESCAPE.test(v) ? v.replace(/["\\]/g, '\\$&') : v}"`;
  }
  return `${out}}`;
}
