/** The authentication settings: off by default, files resolved, and every combination that would mislead refused. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../../src/config/config.ts';
import { ConfigError } from '../../../src/errors.ts';

/** The problems of a configuration that must not resolve. */
function problems(flags: Parameters<typeof resolveConfig>[0], env: Record<string, string> = {}): string[] {
  try {
    resolveConfig(flags, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return (error.details as { problems: string[] }).problems;
  }
  assert.fail('the configuration was accepted');
}

describe('auth settings', () => {
  it('is off by default: no credentials, introspection on, /metrics needing credentials only once auth is on', () => {
    const { auth } = resolveConfig({}, {});
    assert.deepEqual(auth, { mode: 'none', apiKeysFile: undefined, jwt: undefined, policyFile: undefined, introspection: 'on', metricsOpen: false });
  });

  it('resolves API keys, a JWKS file and a policy, with the JWT defaults', () => {
    const { auth } = resolveConfig(
      { auth: 'required', apiKeys: 'keys.jsonl', policy: 'policy.json', jwtJwks: 'jwks.json', jwtIssuer: 'https://idp', jwtAudience: 'skewless' },
      { SKEWLESS_INTROSPECTION: 'admin', SKEWLESS_METRICS_AUTH: 'open' },
    );
    assert.deepEqual(auth, {
      mode: 'required',
      apiKeysFile: path.resolve('keys.jsonl'),
      policyFile: path.resolve('policy.json'),
      jwt: { jwks: path.resolve('jwks.json'), issuer: 'https://idp', audience: 'skewless', algorithms: ['RS256', 'ES256'], clockToleranceSeconds: 30, rolesClaim: 'roles', refreshMs: 600_000 },
      introspection: 'admin',
      metricsOpen: true,
    });
    assert.equal(resolveConfig({ auth: 'required', jwtJwks: 'https://idp/.well-known/jwks.json', jwtIssuer: 'i', jwtAudience: 'a' }, {}).auth.jwt?.jwks, 'https://idp/.well-known/jwks.json');
  });

  it('refuses credentials or a policy while auth is none: they would look like protection and be none', () => {
    const found = problems({ apiKeys: 'k', policy: 'p', jwtJwks: 'j', jwtIssuer: 'i', jwtAudience: 'a', introspection: 'admin' });
    for (const flag of ['--api-keys', '--policy', '--jwt-jwks', '--introspection']) assert.ok(found.some((p) => p.startsWith(flag)), flag);
  });

  it('refuses auth required with no way to authenticate', () => {
    assert.match(problems({ auth: 'required' })[0]!, /^--auth \/ SKEWLESS_AUTH \(from flag --auth\): expected none, or required with --api-keys FILE and\/or --jwt-jwks/);
  });

  it('needs an issuer and an audience with a JWKS, and allows only asymmetric algorithms', () => {
    const found = problems({ auth: 'required', jwtJwks: 'j', jwtAlgorithms: 'RS256,HS256,none', jwtClockTolerance: '1h', jwtJwksRefresh: '1s' });
    assert.deepEqual(
      found.map((p) => p.split(' ')[0]),
      ['--jwt-algorithms', '--jwt-issuer', '--jwt-audience', '--jwt-clock-tolerance', '--jwt-jwks-refresh'],
    );
  });

  it('refuses unknown modes', () => {
    const found = problems({ auth: 'maybe', introspection: 'sometimes', metricsAuth: 'never' });
    assert.deepEqual(found.map((p) => p.split(' ')[0]), ['--auth', '--introspection', '--metrics-auth']);
  });
});
