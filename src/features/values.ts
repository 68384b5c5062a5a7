/**
 * Feature values: checked and normalised against their declared type, once, when they enter the system.
 * Internally Int and Float are numbers, DateTime is epoch ms, lists are arrays, JSON is any JSON value.
 */
import type { FieldType } from '../registry/types.ts';
import { NUL_REASON, describe } from './keys.ts';
import { toEpochMs } from './time.ts';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export type ValueResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

/**
 * Normalises a value for a field of `type`. `fromText` accepts text spellings too (CSV cells): "12" for
 * an Int, "true" for a Boolean, "" for null.
 */
export function normalizeValue(type: FieldType, value: unknown, fromText = false): ValueResult {
  if (fromText && value === '') value = null;
  if (value === null || value === undefined) return type.nullable ? { ok: true, value: null } : { ok: false, reason: 'must not be null' };
  if (type.list) {
    if (fromText && typeof value === 'string') {
      try {
        value = JSON.parse(value);
      } catch {
        return { ok: false, reason: `must be a JSON list, got ${describe(value)}` };
      }
    }
    if (!Array.isArray(value)) return { ok: false, reason: `must be a list of ${type.scalar}, got ${describe(value)}` };
    const out: unknown[] = [];
    for (const [i, item] of value.entries()) {
      const r = normalizeScalar(type.scalar, item, false);
      if (!r.ok) return { ok: false, reason: `item ${i} ${r.reason}` };
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  return normalizeScalar(type.scalar, value, fromText);
}

/**
 * PostgreSQL cannot store U+0000 in text or jsonb: a value holding it would fail the whole batch it came in
 * (and, from Kafka, stall its partition on every retry), so it is refused as the one bad value it is.
 */
const NUL: ValueResult = { ok: false, reason: NUL_REASON };

function normalizeScalar(scalar: FieldType['scalar'], value: unknown, fromText: boolean): ValueResult {
  if (value === null) return { ok: true, value: null };
  const bad = (what: string): ValueResult => ({ ok: false, reason: `must be ${what}, got ${describe(value)}` });
  switch (scalar) {
    case 'Int': {
      const n = fromText && typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      return typeof n === 'number' && Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX ? { ok: true, value: n } : bad('a 32-bit integer');
    }
    case 'Float': {
      const n = fromText && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && Number.isFinite(n) ? { ok: true, value: n } : bad('a finite number');
    }
    case 'Boolean': {
      if (fromText && (value === 'true' || value === 'false')) return { ok: true, value: value === 'true' };
      return typeof value === 'boolean' ? { ok: true, value } : bad('true or false');
    }
    case 'ID':
      if (Number.isSafeInteger(value)) return { ok: true, value: String(value) };
      if (typeof value !== 'string') return bad('a string or an integer');
      return value.includes('\u0000') ? NUL : { ok: true, value };
    case 'String':
      if (typeof value !== 'string') return bad('a string');
      return value.includes('\u0000') ? NUL : { ok: true, value };
    case 'DateTime': {
      const ms = toEpochMs(fromText && typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value);
      return ms === undefined ? bad('ISO-8601 with a zone or epoch milliseconds') : { ok: true, value: ms };
    }
    case 'JSON': {
      let json = value;
      if (fromText && typeof value === 'string') {
        try {
          json = JSON.parse(value);
        } catch {
          return bad('JSON');
        }
      }
      // JSON.stringify writes U+0000 as \u0000 wherever it is, in a key or a string value.
      return JSON.stringify(json).includes('\\u0000') ? NUL : { ok: true, value: json };
    }
  }
}
