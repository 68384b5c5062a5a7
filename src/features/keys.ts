/**
 * Entity keys: join key values in, one canonical string out, and the online store key built from it.
 * Pure. Every writer and reader goes through these, so a user pushed as `123` and read as `"123"` (an ID)
 * is the same user.
 */
import type { Entity, Field } from '../registry/types.ts';

/** Why text holding U+0000 is refused, as a value or a join key: PostgreSQL text and jsonb cannot hold it. */
export const NUL_REASON = 'must not contain the NUL character (U+0000), which PostgreSQL cannot store';

export type KeyResult = { readonly ok: true; readonly key: string; readonly values: readonly string[] } | { readonly ok: false; readonly field: string; readonly reason: string };

/** Canonical text of one join key value, or a reason it is not one. */
export function joinKeyValue(field: Field, value: unknown): { ok: true; text: string } | { ok: false; reason: string } {
  if (value === undefined || value === null) return { ok: false, reason: 'is missing' };
  // No entity with one could ever be stored: PostgreSQL text cannot hold U+0000.
  if (typeof value === 'string' && value.includes('\u0000')) return { ok: false, reason: NUL_REASON };
  switch (field.type.scalar) {
    case 'Int':
      return Number.isSafeInteger(value) ? { ok: true, text: String(value) } : { ok: false, reason: `must be an integer, got ${describe(value)}` };
    case 'ID':
      if (typeof value === 'string' && value !== '') return { ok: true, text: value };
      return Number.isSafeInteger(value) ? { ok: true, text: String(value) } : { ok: false, reason: `must be a non-empty string or an integer, got ${describe(value)}` };
    default:
      return typeof value === 'string' && value !== '' ? { ok: true, text: value } : { ok: false, reason: `must be a non-empty string, got ${describe(value)}` };
  }
}

/** The entity key of a row carrying the entity's join keys as properties. */
export function entityKey(entity: Entity, row: Readonly<Record<string, unknown>>): KeyResult {
  const values: string[] = [];
  for (const field of entity.joinKeys) {
    const v = joinKeyValue(field, row[field.name]);
    if (!v.ok) return { ok: false, field: field.name, reason: `join key "${field.name}" ${v.reason}` };
    values.push(v.text);
  }
  return { ok: true, key: encodeKey(values), values };
}

/**
 * The entity key alone, or undefined where entityKey gives a reason: for the materializer's fold, which
 * needs it per event and view. A single text join key holding a non-empty string (the common case) is its
 * own key, with no arrays or result objects built; anything else goes through entityKey.
 */
export function entityKeyText(entity: Entity, row: Readonly<Record<string, unknown>>): string | undefined {
  if (entity.joinKeys.length === 1) {
    const field = entity.joinKeys[0]!;
    const value = row[field.name];
    if (field.type.scalar !== 'Int' && typeof value === 'string' && value !== '' && !value.includes('\u0000')) return value;
  }
  const key = entityKey(entity, row);
  return key.ok ? key.key : undefined;
}

/**
 * One string per entity: the value itself for single-key entities (the common case, readable in
 * redis-cli), a JSON array for composite keys (unambiguous whatever the values contain).
 */
export function encodeKey(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : JSON.stringify(values);
}

/** The join key values an encoded key stands for (the inverse of encodeKey), given how many keys its entity has. */
export function decodeKey(key: string, count: number): string[] {
  return count === 1 ? [key] : (JSON.parse(key) as string[]);
}

/**
 * The online store key of (view, entity): `{Entity:key}:view`. The braces are a Redis Cluster hash tag,
 * so every view of one entity lives in one slot and a request for one entity touches one node.
 */
export function onlineKey(entity: string, key: string, view: string): string {
  return `{${entity}:${key}}:${view}`;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
