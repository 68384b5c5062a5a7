/**
 * Authentication and authorization as the gateway uses them, made once at start-up from the settings:
 * the API key file and the policy read and checked against the registry, the JWKS read (a gateway that
 * cannot read any of them does not start), the policy compiled into tables (grants.ts).
 *
 * `gate` runs on every protected request before it is routed: it answers 401 itself (a JSON body with code
 * UNAUTHENTICATED, a WWW-Authenticate header, nothing else) or hands back the request's RequestAuth.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { redactUrl } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../ops/log.ts';
import type { Registry } from '../registry/registry.ts';
import { ApiKeys, parseKeyFile } from './api-keys.ts';
import { Authenticator } from './authenticate.ts';
import type { AuthOutcome } from './authenticate.ts';
import type { AuthSettings } from './config.ts';
import { GrantTable } from './grants.ts';
import type { Grants } from './grants.ts';
import { JwksSource, isUrl } from './jwks.ts';
import { JwtVerifier } from './jwt.ts';
import { ALLOW_AUTHENTICATED, parsePolicy } from './policy.ts';
import type { Policy } from './policy.ts';
import { ANONYMOUS } from './principal.ts';
import type { Principal, RequestAuth } from './principal.ts';

export interface GatewayAuth {
  /** Whether requests need credentials (--auth required). */
  readonly required: boolean;
  /** Whether /metrics answers without credentials. */
  readonly metricsOpen: boolean;
  readonly introspection: AuthSettings['introspection'];
  /** The request's auth, or undefined when the request was answered 401 here. */
  gate(req: IncomingMessage, res: ServerResponse): Promise<RequestAuth | undefined>;
  close(): void;
}

/** --auth none: every request is anonymous and allowed everything. */
export const NO_AUTH: GatewayAuth = Object.freeze({
  required: false,
  metricsOpen: true,
  introspection: 'on' as const,
  gate: () => Promise.resolve(ANONYMOUS),
  close: () => {},
});

/** Like NO_AUTH with an introspection mode: --auth none --introspection off. */
function openAuth(settings: AuthSettings): GatewayAuth {
  return settings.introspection === NO_AUTH.introspection ? NO_AUTH : Object.freeze({ ...NO_AUTH, introspection: settings.introspection });
}

export async function startGatewayAuth(settings: AuthSettings, registry: Registry, logger: Logger): Promise<GatewayAuth> {
  if (settings.mode === 'none') return openAuth(settings);
  const policy = settings.policyFile === undefined ? ALLOW_AUTHENTICATED : parsePolicy(await readSetting(settings.policyFile, '--policy'), registry, settings.policyFile);
  if (settings.policyFile === undefined) logger.warn('auth.no_policy', { note: 'no --policy: every authenticated caller may do every action on every view' });
  const keys = settings.apiKeysFile === undefined ? undefined : new ApiKeys(parseKeyFile(await readSetting(settings.apiKeysFile, '--api-keys'), settings.apiKeysFile));
  let jwks: JwksSource | undefined;
  if (settings.jwt !== undefined) {
    jwks = new JwksSource({ location: settings.jwt.jwks, refreshMs: settings.jwt.refreshMs, logger });
    await jwks.start();
  }
  const auth = createGatewayAuth({ settings, registry, keys, jwt: jwks === undefined ? undefined : new JwtVerifier(jwks, settings.jwt!), logger, policy });
  logger.info('auth.enabled', { apiKeys: keys?.size ?? null, jwt: settings.jwt === undefined ? null : { jwks: isUrl(settings.jwt.jwks) ? redactUrl(settings.jwt.jwks) : settings.jwt.jwks, issuer: settings.jwt.issuer, audience: settings.jwt.audience }, policy: settings.policyFile ?? null, introspection: settings.introspection, metrics: settings.metricsOpen ? 'open' : 'required' });
  return { ...auth, close: () => jwks?.stop() };
}

export interface GatewayAuthParts {
  readonly settings: Pick<AuthSettings, 'introspection' | 'metricsOpen'>;
  readonly registry: Registry;
  readonly keys: ApiKeys | undefined;
  readonly jwt: JwtVerifier | undefined;
  readonly policy: Policy;
  readonly logger: Logger;
}

/** The gate, from parts already read and checked. */
export function createGatewayAuth(parts: GatewayAuthParts): GatewayAuth {
  const table = new GrantTable(parts.registry, parts.policy);
  const authenticator = new Authenticator(parts.keys, parts.jwt);
  // An API key's principal is one object for the gateway's life: its grants are looked up once.
  const grantsByPrincipal = new WeakMap<Principal, Grants>();
  const grantsOf = (principal: Principal): Grants => {
    let grants = grantsByPrincipal.get(principal);
    if (grants === undefined) grantsByPrincipal.set(principal, (grants = table.forRoles(principal.roles)));
    return grants;
  };
  return {
    required: true,
    metricsOpen: parts.settings.metricsOpen,
    introspection: parts.settings.introspection,
    async gate(req, res) {
      let outcome: AuthOutcome;
      try {
        outcome = await authenticator.authenticate(req.headers);
      } catch (error) {
        // A fault of ours, not the caller's: never a way in, and said as such.
        parts.logger.error('auth.failed', { error: error instanceof Error ? error.message : String(error) });
        outcome = { ok: false, message: 'credentials could not be checked', reason: 'internal error', presented: true };
      }
      if (outcome.ok) return { principal: outcome.principal, grants: grantsOf(outcome.principal) };
      parts.logger.info('auth.refused', { reason: outcome.reason, path: (req.url ?? '/').split('?', 1)[0] });
      const challenges = outcome.presented ? [`${authenticator.challenges[0]}, error="invalid_token"`, ...authenticator.challenges.slice(1)] : authenticator.challenges;
      res.writeHead(401, { 'content-type': 'application/json', 'cache-control': 'no-store', 'www-authenticate': [...challenges] });
      res.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: outcome.message } }));
      return undefined;
    },
    close: () => {},
  };
}

async function readSetting(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${flag} ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
