/**
 * Feature values as parity keeps and compares them (pure). Values are kept as served — DateTime as
 * ISO-8601, lists as arrays, JSON as parsed — and compared exactly: `Object.is` on every number, so
 * 0.1 + 0.2 is not 0.3 and -0 is not 0, because "the same value" on both paths means the same bits.
 *
 * Stored as text: JSON, except numbers JSON cannot spell (-0, NaN, ±Infinity), which become
 * `{"$skewless": "-0"}`. A JSON feature value that itself has a `$skewless` key is wrapped
 * (`{"$skewless": "object", "value": …}`), so decoding gives back exactly what was encoded.
 */

const TAG = '$skewless';

/** Text a value is stored as; `decodeValue` gives back an equal value (by `sameValue`). */
export function encodeValue(value: unknown): string {
  return JSON.stringify(tag(value));
}

export function decodeValue(text: string): unknown {
  return untag(JSON.parse(text));
}

function tag(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0) ? value : { [TAG]: Object.is(value, -0) ? '-0' : String(value) };
  if (Array.isArray(value)) return value.map(tag);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = tag(v);
    return TAG in value ? { [TAG]: 'object', value: out } : out;
  }
  return value;
}

function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const marker = record[TAG];
  if (marker === 'object') return untagObject(record.value as Record<string, unknown>);
  if (typeof marker === 'string') return Number(marker);
  return untagObject(record);
}

function untagObject(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k] = untag(v);
  return out;
}

/**
 * Exact equality of two served values: `Object.is` on primitives, item by item on lists, key by key on
 * objects (key order aside: PostgreSQL's jsonb does not keep it, and a JSON value is the same without it).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameValue(item, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && sameValue((a as Record<string, unknown>)[k], rb[k]));
}
