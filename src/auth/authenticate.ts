/**
 * Who sent a request, from its Authorization header:
 *
 * - `Bearer skw_<id>_<secret>`: an API key (api-keys.ts);
 * - `Bearer <JWT>`: a token verified against the JWKS (jwt.ts);
 * - `Basic base64(<anything>:<API key>)`: an API key as a password, so a browser can reach GraphiQL and the
 *   dashboard (it asks for a user and password on the 401's Basic challenge and sends them with every later
 *   request to the gateway, the dashboard's own GraphQL calls included).
 *
 * Nothing else is looked at: no cookies, no query parameters (URLs end up in logs and browser history).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { KEY_PREFIX } from './api-keys.ts';
import type { ApiKeys } from './api-keys.ts';
import { TokenRefused } from './jwt.ts';
import type { JwtVerifier } from './jwt.ts';
import type { Principal } from './principal.ts';

export const REALM = 'skewless';

export type AuthOutcome =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      /** For the caller: says what is wrong without saying which part of a key or token was. */
      readonly message: string;
      /** For the gateway's log. */
      readonly reason: string;
      /** Whether credentials were presented (RFC 6750's `error="invalid_token"`) or none were. */
      readonly presented: boolean;
    };

export class Authenticator {
  readonly #keys: ApiKeys | undefined;
  readonly #jwt: JwtVerifier | undefined;
  /** WWW-Authenticate challenges of a 401 without credentials, worked out once. */
  readonly challenges: readonly string[];

  constructor(keys: ApiKeys | undefined, jwt: JwtVerifier | undefined) {
    this.#keys = keys;
    this.#jwt = jwt;
    this.challenges = [`Bearer realm="${REALM}"`, ...(keys === undefined ? [] : [`Basic realm="${REALM}", charset="UTF-8"`])];
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<AuthOutcome> {
    const header = headers.authorization;
    if (header === undefined || header.trim() === '') {
      return refused(`credentials required: send Authorization: Bearer <${this.#accepted()}>`, 'no Authorization header', false);
    }
    const space = header.indexOf(' ');
    const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
    const credentials = space === -1 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer') {
      if (credentials === '') return refused(`the Authorization header has no credential after Bearer`, 'empty bearer credential', true);
      if (credentials.startsWith(KEY_PREFIX)) return this.#key(credentials);
      if (this.#jwt === undefined) return refused(`the bearer credential is not valid (this gateway accepts ${this.#accepted()})`, 'a bearer token, and JWTs are not accepted', true);
      try {
        return { ok: true, principal: await this.#jwt.verify(credentials) };
      } catch (error) {
        if (error instanceof TokenRefused) return refused(error.message, `jwt: ${error.reason}`, true);
        throw error;
      }
    }
    if (scheme === 'basic' && this.#keys !== undefined) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return this.#key(colon === -1 ? decoded : decoded.slice(colon + 1));
    }
    return refused(`unsupported Authorization scheme: send Authorization: Bearer <${this.#accepted()}>`, `scheme ${scheme}`, true);
  }

  #key(key: string): AuthOutcome {
    if (this.#keys === undefined) return refused(`API keys are not accepted here: send Authorization: Bearer <${this.#accepted()}>`, 'an API key, and API keys are not accepted', true);
    const principal = this.#keys.verify(key);
    return principal === undefined ? refused('the API key is not valid', 'unknown API key or wrong secret', true) : { ok: true, principal };
  }

  #accepted(): string {
    return [this.#keys === undefined ? undefined : 'API key', this.#jwt === undefined ? undefined : 'JWT'].filter((x) => x !== undefined).join(' or ');
  }
}

function refused(message: string, reason: string, presented: boolean): AuthOutcome {
  return { ok: false, message, reason, presented };
}
