/**
 * Request ids. Every HTTP request to the gateway gets one: the caller's `x-request-id` when it sends one
 * (so a trace that starts upstream keeps its id), cleaned and bounded, or a fresh UUID. The id goes back
 * as the `x-request-id` response header and onto every log line written while the request is handled.
 *
 * The id travels in an AsyncLocalStorage rather than through every function's arguments: code that was
 * handed a logger at start-up (yoga's error logging, the export route) still writes lines that carry the
 * id of the request it is working for.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { childLogger } from './log.ts';
import type { Logger } from './log.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Longest id kept from a caller; the rest is cut off. Long enough for a UUID, a W3C trace id and a span. */
export const MAX_REQUEST_ID_LENGTH = 128;

// Characters an id may keep: enough for UUIDs, ULIDs, trace ids and "service/1234", and nothing that
// could break a log line, a header or a query over logs (no spaces, quotes, control characters).
const UNSAFE = /[^A-Za-z0-9._:/@+=-]/g;

/**
 * The id of a request: the caller's header with unsafe characters dropped and cut to
 * MAX_REQUEST_ID_LENGTH, or a new UUID when there is no header or nothing of it is left. A header sent
 * twice counts once (the first).
 */
export function requestIdFrom(header: string | readonly string[] | undefined, generate: () => string = randomUUID): string {
  const raw = typeof header === 'string' ? header : header?.[0];
  const clean = raw?.replace(UNSAFE, '').slice(0, MAX_REQUEST_ID_LENGTH) ?? '';
  return clean === '' ? generate() : clean;
}

// A type, not an interface: it is handed to the logger as a record of fields.
export type RequestScope = { readonly requestId: string };

/**
 * Where the current request's id lives while it is handled. One per gateway: `run` binds an id for the
 * duration of a handler, `logger` writes through a parent logger with the id of whatever request is
 * current (and no id outside one).
 */
export class RequestContext {
  readonly #storage = new AsyncLocalStorage<RequestScope>();
  readonly logger: Logger;

  constructor(parent: Logger) {
    this.logger = childLogger(parent, () => this.#storage.getStore());
  }

  run<T>(scope: RequestScope, fn: () => T): T {
    return this.#storage.run(scope, fn);
  }

  get current(): RequestScope | undefined {
    return this.#storage.getStore();
  }
}
