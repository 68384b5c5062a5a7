/**
 * Bearer JWTs: the signature checked against the JWKS (jwks.ts) with an algorithm from the allow-list, then
 * the issuer, the audience, the expiry (required) and not-before, within the clock tolerance. The principal
 * is the `sub` claim; its roles come from the --jwt-roles-claim claim.
 */
import { errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import type { JwksSource } from './jwks.ts';
import type { Principal } from './principal.ts';

/** Signature algorithms --jwt-algorithms may allow: asymmetric only (a JWKS carries public keys). `none` is never accepted. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface JwtOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  /** Claim holding the roles: a name, or a dotted path into nested claims (`realm_access.roles`). */
  readonly rolesClaim: string;
}

/** Why a token was refused: `message` is for the caller, `reason` for the log. */
export class TokenRefused extends Error {
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.name = 'TokenRefused';
    this.reason = reason;
  }
}

export class JwtVerifier {
  readonly #jwks: JwksSource;
  readonly #options: JwtOptions;

  constructor(jwks: JwksSource, options: JwtOptions) {
    this.#jwks = jwks;
    this.#options = options;
  }

  /** The token's principal; throws TokenRefused when it is not valid now. */
  async verify(token: string): Promise<Principal> {
    const { issuer, audience, algorithms, clockToleranceSeconds } = this.#options;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#jwks.keys, { issuer, audience, algorithms: [...algorithms], clockTolerance: clockToleranceSeconds, requiredClaims: ['exp', 'sub'] }));
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) this.#jwks.refreshSoon();
      if (error instanceof errors.JWTExpired) throw new TokenRefused('the bearer token has expired', error.code);
      throw new TokenRefused('the bearer token is not valid', error instanceof errors.JOSEError ? `${error.code}: ${error.message}` : String(error));
    }
    return principalFromClaims(payload, this.#options.rolesClaim);
  }
}

/**
 * The principal a verified token's claims name. Roles may be a list of strings or one space-separated
 * string (as OAuth's `scope`); a missing claim is no roles. The claim is first looked up by its whole name
 * (namespaced claims such as `https://example.com/roles` contain dots), then as a dotted path.
 */
export function principalFromClaims(payload: JWTPayload, rolesClaim: string): Principal {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new TokenRefused('the bearer token is not valid', 'sub claim is not a non-empty string');
  const raw = rolesClaim in payload ? payload[rolesClaim] : rolesClaim.split('.').reduce<unknown>((node, part) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), payload);
  let roles: string[];
  if (raw === undefined || raw === null) roles = [];
  else if (typeof raw === 'string') roles = raw.split(' ').filter((r) => r !== '');
  else if (Array.isArray(raw) && raw.every((r) => typeof r === 'string')) roles = raw as string[];
  else throw new TokenRefused('the bearer token is not valid', `claim ${rolesClaim} is neither a list of strings nor a string`);
  // "*" is every caller's already; a token cannot claim it to stand out.
  return Object.freeze({ id: payload.sub, roles: Object.freeze(roles.filter((r) => r !== '*')), via: 'jwt' as const });
}
