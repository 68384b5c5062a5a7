/**
 * Who a request is from, and what they may do: the gateway authenticates each request before it routes it
 * (http-gate.ts) and puts a RequestAuth in the context yoga hands every resolver and plugin.
 *
 * Other code reads it through the accessors here, never by the property's name: `principalOf(context)`
 * for a principal's id (per-key rate limits, logs) and `grantsOf(context)` for checks.
 */
import { OPEN_GRANTS } from './grants.ts';
import type { Grants } from './grants.ts';

export interface Principal {
  /** The API key's id, or the JWT's `sub` claim: stable, safe to log and to count by. */
  readonly id: string;
  readonly roles: readonly string[];
  /** How the request proved it. */
  readonly via: 'api-key' | 'jwt';
}

export interface RequestAuth {
  /** Undefined when the gateway runs with --auth none: callers are anonymous. */
  readonly principal: Principal | undefined;
  readonly grants: Grants;
}

/** The part of a request's context this module owns. */
export interface AuthContext {
  readonly auth?: RequestAuth | undefined;
}

/** Anonymous and allowed everything: every request's auth when --auth is none. */
export const ANONYMOUS: RequestAuth = Object.freeze({ principal: undefined, grants: OPEN_GRANTS });

/**
 * The authenticated principal of a request's context (yoga's, or any object the gateway put a RequestAuth
 * in); undefined when the request is anonymous (--auth none).
 */
export function principalOf(context: unknown): Principal | undefined {
  return (context as AuthContext | null | undefined)?.auth?.principal;
}

/**
 * What the request's principal may do. A context without auth was made outside the gateway (a test, a
 * command running its own query) and is allowed everything, as with --auth none.
 */
export function grantsOf(context: unknown): Grants {
  return (context as AuthContext | null | undefined)?.auth?.grants ?? OPEN_GRANTS;
}
