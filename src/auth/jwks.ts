/**
 * The keys bearer tokens are verified against: a JWKS read from a file or fetched from a URL when the
 * gateway starts (it does not start without them), then again every --jwt-jwks-refresh, off the request
 * path. A request never waits for a fetch: it is checked against the set last read. A token naming a key id
 * the set lacks (the issuer rotated before the next refresh) asks for an early refresh, at most one per
 * REFRESH_COOLDOWN_MS, and is refused meanwhile.
 *
 * A refresh that fails keeps the set it had (and is logged): an identity provider's hiccup must not turn
 * every token away.
 */
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet } from 'jose';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../ops/log.ts';

/** Least time between two refreshes asked for by unknown key ids: a stream of bad tokens must not become a stream of fetches. */
export const REFRESH_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;

export interface JwksOptions {
  /** A file path, or an http(s) URL. */
  readonly location: string;
  readonly refreshMs: number;
  readonly logger: Logger;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
}

export class JwksSource {
  readonly #options: JwksOptions;
  #keys: JWTVerifyGetKey | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastLoad = 0;
  #loading: Promise<void> | undefined;

  constructor(options: JwksOptions) {
    this.#options = options;
  }

  /** Reads the set once (throwing when it cannot: the gateway then does not start) and schedules refreshes. */
  async start(): Promise<void> {
    try {
      await this.#load();
    } catch (error) {
      throw new ConfigError(`--jwt-jwks ${this.#options.location}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.#timer = setInterval(() => void this.refresh(), this.#options.refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The key lookup of the set last read. */
  get keys(): JWTVerifyGetKey {
    if (this.#keys === undefined) throw new Error('JwksSource used before start()');
    return this.#keys;
  }

  /** Reads the set again now (joining a read under way); never rejects, failures are logged. */
  refresh(): Promise<void> {
    this.#loading ??= this.#load()
      .catch((error: unknown) => this.#options.logger.warn('auth.jwks_refresh_failed', { location: this.#options.location, error: error instanceof Error ? error.message : String(error) }))
      .finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  /** A token named a key the set lacks: refresh early, unless one ran within the cooldown. Not awaited by requests. */
  refreshSoon(): void {
    const now = (this.#options.now ?? Date.now)();
    if (this.#loading !== undefined || now - this.#lastLoad < REFRESH_COOLDOWN_MS) return;
    void this.refresh();
  }

  async #load(): Promise<void> {
    this.#lastLoad = (this.#options.now ?? Date.now)();
    const text = await readJwks(this.#options.location);
    let set: unknown;
    try {
      set = JSON.parse(text);
    } catch {
      throw new Error('not JSON');
    }
    if (set === null || typeof set !== 'object' || !Array.isArray((set as { keys?: unknown }).keys)) throw new Error('not a JWKS (a JSON object with a "keys" list)');
    if ((set as JSONWebKeySet).keys.some((k) => 'd' in k)) throw new Error('holds a private key; a JWKS for verification holds public keys only');
    this.#keys = createLocalJWKSet(set as JSONWebKeySet);
    this.#options.logger.debug('auth.jwks_loaded', { location: this.#options.location, keys: (set as JSONWebKeySet).keys.length });
  }
}

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

async function readJwks(location: string): Promise<string> {
  if (!isUrl(location)) return readFile(location, 'utf8');
  let res: Response;
  try {
    res = await fetch(location, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    // fetch says only "fetch failed"; the reason (refused, DNS, timeout) is its cause.
    throw new Error(`cannot fetch: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`, { cause: error });
  }
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.text();
}
