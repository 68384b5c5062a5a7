/**
 * API keys: `skw_<id>_<secret>`, the secret 32 random bytes in base64url. The gateway keeps only each key's
 * SHA-256 (in the --api-keys file), never the key.
 *
 * SHA-256 and not scrypt: a slow hash protects low-entropy secrets (passwords) against guessing once the
 * hashes leak. A 256-bit random secret cannot be guessed whatever the hash costs, so a slow one would only
 * add tens of milliseconds of CPU to every request (or call for a cache of verified keys, which is the
 * plaintext-equivalent the file was meant not to hold). One SHA-256 per request costs about a microsecond.
 *
 * The id travels in the key, so verification looks one entry up by id and compares the hashes in constant
 * time; a key for an unknown id is compared against a stand-in all the same, so both fail alike.
 *
 * File format: one JSON object per line, `{"id": "...", "hash": "sha256:<hex>", "roles": ["..."]}`; blank
 * lines and lines starting with `#` are ignored. `skewless auth create-key ID` prints a key and its line.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import type { Principal } from './principal.ts';

export const KEY_PREFIX = 'skw_';
/** Key ids: what logs, metrics and rate limits show; no `_`, which ends the id inside a key. */
const ID = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;
const HASH = /^sha256:([0-9a-f]{64})$/;
const ENTRY_FIELDS = ['id', 'hash', 'roles'];

export interface ApiKeyEntry {
  readonly id: string;
  /** `sha256:<hex>` of the whole key. */
  readonly hash: string;
  readonly roles: readonly string[];
}

/** Whether an id may name a key (letters, digits, `.` and `-`, at most 64, starting with a letter or digit). */
export function validKeyId(id: string): boolean {
  return ID.test(id);
}

export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new key and the line that admits it. The key exists only in the return value: print it once. */
export function createApiKey(id: string, roles: readonly string[]): { readonly key: string; readonly entry: ApiKeyEntry; readonly line: string } {
  if (!validKeyId(id)) throw new ConfigError(`key id ${JSON.stringify(id)}: use 1 to 64 letters, digits, "." and "-", starting with a letter or digit`);
  const bad = roles.filter((r) => r.trim() === '' || r === '*');
  if (bad.length > 0) throw new ConfigError(`roles must be non-empty names ("*" is every caller's already), got ${JSON.stringify(bad)}`);
  const key = `${KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  const entry = { id, hash: hashKey(key), roles: [...roles] };
  return { key, entry, line: JSON.stringify(entry) };
}

/** The id a presented key claims, or undefined when it is not shaped like a key. */
export function keyId(key: string): string | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const end = key.indexOf('_', KEY_PREFIX.length);
  if (end === -1 || end === key.length - 1) return undefined;
  const id = key.slice(KEY_PREFIX.length, end);
  return validKeyId(id) ? id : undefined;
}

/** Parses an --api-keys file; throws one ConfigError naming every bad line. */
export function parseKeyFile(text: string, file: string): ApiKeyEntry[] {
  const problems: string[] = [];
  const entries: ApiKeyEntry[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`${at}: not a JSON object (expected {"id": ..., "hash": "sha256:...", "roles": [...]})`);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${at}: not a JSON object`);
      return;
    }
    const { id, hash, roles } = value as Record<string, unknown>;
    const unknown = Object.keys(value).filter((k) => !ENTRY_FIELDS.includes(k));
    const before = problems.length;
    if (unknown.length > 0) problems.push(`${at}: unknown field(s) ${unknown.join(', ')} (an entry has ${ENTRY_FIELDS.join(', ')})`);
    if (typeof id !== 'string' || !validKeyId(id)) problems.push(`${at}: "id" must be 1 to 64 letters, digits, "." and "-"`);
    else if (seen.has(id)) problems.push(`${at}: id "${id}" appears twice`);
    if (typeof hash !== 'string' || !HASH.test(hash)) problems.push(`${at}: "hash" must be "sha256:" and 64 lowercase hex digits (skewless auth create-key prints one)`);
    if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string' || r.trim() === '')) problems.push(`${at}: "roles" must be a list of role names`);
    if (problems.length > before) return;
    seen.add(id as string);
    entries.push({ id: id as string, hash: hash as string, roles: roles as string[] });
  });
  if (problems.length > 0) throw new ConfigError(`API key file ${file} has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, { problems });
  return entries;
}

/** Checks presented keys against the file's entries. */
export class ApiKeys {
  readonly #entries: ReadonlyMap<string, { readonly digest: Buffer; readonly principal: Principal }>;
  // Compared against when the id is unknown, so an unknown id takes the same path as a wrong secret.
  readonly #standIn = Buffer.alloc(32);

  constructor(entries: readonly ApiKeyEntry[]) {
    this.#entries = new Map(entries.map((e) => [e.id, { digest: Buffer.from(HASH.exec(e.hash)![1]!, 'hex'), principal: Object.freeze({ id: e.id, roles: Object.freeze([...e.roles]), via: 'api-key' as const }) }]));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The key's principal, or undefined when the key is not one of the file's. */
  verify(key: string): Principal | undefined {
    const id = keyId(key);
    const entry = id === undefined ? undefined : this.#entries.get(id);
    const presented = createHash('sha256').update(key, 'utf8').digest();
    const same = timingSafeEqual(presented, entry?.digest ?? this.#standIn);
    return same && entry !== undefined ? entry.principal : undefined;
  }
}
