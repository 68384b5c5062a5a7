/**
 * The authentication and authorization settings (docs/security.md), read from the raw setting values by
 * resolveConfig: every problem is reported through `bad`, with the others, before anything starts.
 */
import path from 'node:path';
import { parseDuration } from '../features/duration.ts';
import { isUrl } from './jwks.ts';
import { JWT_ALGORITHMS } from './jwt.ts';
import type { JwtOptions } from './jwt.ts';

export const AUTH_MODES = ['none', 'required'] as const;
export const INTROSPECTION_MODES = ['on', 'admin', 'off'] as const;
export const METRICS_AUTH_MODES = ['required', 'open'] as const;

export interface JwtSettings extends JwtOptions {
  /** A JWKS file path or an http(s) URL. */
  readonly jwks: string;
  readonly refreshMs: number;
}

export interface AuthSettings {
  /** none: every caller is anonymous and may do everything (the default); required: credentials on every route but /healthz and /readyz. */
  readonly mode: (typeof AUTH_MODES)[number];
  /** The --api-keys file; undefined: API keys are not accepted. */
  readonly apiKeysFile: string | undefined;
  /** Bearer JWT verification; undefined: JWTs are not accepted. */
  readonly jwt: JwtSettings | undefined;
  /** The --policy file; undefined: every authenticated caller may do everything. */
  readonly policyFile: string | undefined;
  /** Who may introspect the schema: on (whoever may query), admin (admins of every view), off (nobody). */
  readonly introspection: (typeof INTROSPECTION_MODES)[number];
  /** Whether /metrics answers without credentials when --auth is required. */
  readonly metricsOpen: boolean;
}

/** The settings this module reads, by their name in SETTINGS. */
export type AuthSettingName = 'auth' | 'apiKeys' | 'jwtJwks' | 'jwtIssuer' | 'jwtAudience' | 'jwtAlgorithms' | 'jwtClockTolerance' | 'jwtRolesClaim' | 'jwtJwksRefresh' | 'policy' | 'introspection' | 'metricsAuth';

export function resolveAuthSettings(raw: Readonly<Record<AuthSettingName, string | undefined>>, bad: (name: AuthSettingName, expected: string) => void): AuthSettings {
  const mode = raw.auth as AuthSettings['mode'];
  if (!AUTH_MODES.includes(mode)) bad('auth', AUTH_MODES.join(' or '));
  const required = mode === 'required';
  const introspection = raw.introspection as AuthSettings['introspection'];
  if (!INTROSPECTION_MODES.includes(introspection)) bad('introspection', 'on, admin or off');
  else if (introspection === 'admin' && !required) bad('introspection', 'on or off while --auth is none (admin needs callers to be known: --auth required)');
  const metricsAuth = raw.metricsAuth as (typeof METRICS_AUTH_MODES)[number];
  if (!METRICS_AUTH_MODES.includes(metricsAuth)) bad('metricsAuth', METRICS_AUTH_MODES.join(' or '));

  // Credentials and a policy with --auth none would look like protection and be none: refuse the mix.
  const onlyWithAuth = (name: AuthSettingName, what: string) => {
    if (raw[name] !== undefined && !required) bad(name, `unset while --auth is none (${what} needs --auth required)`);
  };
  onlyWithAuth('apiKeys', 'API keys');
  onlyWithAuth('jwtJwks', 'JWT verification');
  onlyWithAuth('policy', 'a policy');
  if (required && raw.apiKeys === undefined && raw.jwtJwks === undefined) bad('auth', 'none, or required with --api-keys FILE and/or --jwt-jwks FILE|URL to say which credentials to accept');

  let jwt: JwtSettings | undefined;
  if (raw.jwtJwks !== undefined) {
    const algorithms = (raw.jwtAlgorithms ?? '').split(',').map((a) => a.trim());
    const unknown = algorithms.filter((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a));
    if (unknown.length > 0 || algorithms.length === 0) bad('jwtAlgorithms', `a comma-separated list of ${JWT_ALGORITHMS.join(', ')}`);
    if (raw.jwtIssuer === undefined) bad('jwtIssuer', 'the issuer (iss) tokens must carry: required with --jwt-jwks');
    if (raw.jwtAudience === undefined) bad('jwtAudience', 'the audience (aud) tokens must carry: required with --jwt-jwks');
    const tolerance = parseDuration(raw.jwtClockTolerance ?? '');
    if (tolerance === undefined || tolerance > 300_000) bad('jwtClockTolerance', 'a duration of at most 5m, such as 30s');
    const refreshMs = parseDuration(raw.jwtJwksRefresh ?? '');
    if (refreshMs === undefined || refreshMs < 10_000) bad('jwtJwksRefresh', 'a duration of at least 10s, such as 10m');
    if ((raw.jwtRolesClaim ?? '').trim() === '') bad('jwtRolesClaim', 'a claim name');
    jwt = {
      jwks: isUrl(raw.jwtJwks) ? raw.jwtJwks : path.resolve(raw.jwtJwks),
      issuer: raw.jwtIssuer ?? '',
      audience: raw.jwtAudience ?? '',
      algorithms,
      clockToleranceSeconds: Math.floor((tolerance ?? 0) / 1000),
      rolesClaim: raw.jwtRolesClaim ?? '',
      refreshMs: refreshMs ?? 0,
    };
  } else {
    for (const name of ['jwtIssuer', 'jwtAudience'] as const) if (raw[name] !== undefined) bad(name, 'unset without --jwt-jwks (JWTs are verified only with a JWKS)');
  }

  return Object.freeze({
    mode,
    apiKeysFile: raw.apiKeys === undefined ? undefined : path.resolve(raw.apiKeys),
    jwt,
    policyFile: raw.policy === undefined ? undefined : path.resolve(raw.policy),
    introspection,
    metricsOpen: metricsAuth === 'open',
  });
}
