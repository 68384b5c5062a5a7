/**
 * Bearer JWT verification against a JWKS made here: a good token and every way one can be wrong (expired,
 * another audience or issuer, signed by a key the JWKS lacks, alg none, an algorithm off the list, no
 * expiry), claims to roles, and the JWKS read from a URL: refreshed when an unknown key id shows up, kept
 * when a refresh fails.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { JwksSource, REFRESH_COOLDOWN_MS } from '../../../src/auth/jwks.ts';
import { JwtVerifier, TokenRefused, principalFromClaims } from '../../../src/auth/jwt.ts';
import type { JwtOptions } from '../../../src/auth/jwt.ts';
import { ConfigError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/ops/log.ts';
import { AUDIENCE, ISSUER, jwksFile, signingKey, token, unsignedToken } from '../../helpers/jwt.ts';
import type { SigningKey } from '../../helpers/jwt.ts';

const logger = createLogger('error', () => {});
const OPTIONS: JwtOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256', 'RS256'], clockToleranceSeconds: 30, rolesClaim: 'roles' };

async function refusal(verifier: JwtVerifier, jwt: string): Promise<TokenRefused> {
  try {
    await verifier.verify(jwt);
  } catch (error) {
    assert.ok(error instanceof TokenRefused, String(error));
    return error;
  }
  assert.fail('the token was accepted');
}

describe('JWT verification', () => {
  let a: SigningKey;
  let b: SigningKey;
  let verifier: JwtVerifier;
  let source: JwksSource;

  before(async () => {
    [a, b] = await Promise.all([signingKey('a', 'ES256'), signingKey('b', 'RS256')]);
    source = new JwksSource({ location: await jwksFile([a, b]), refreshMs: 60_000, logger });
    await source.start();
    verifier = new JwtVerifier(source, OPTIONS);
  });
  after(() => source.stop());

  it('accepts a good token of either key: sub is the principal, the roles claim its roles', async () => {
    assert.deepEqual(await verifier.verify(await token(a, { sub: 'svc-1', claims: { roles: ['reader', 'trainer'] } })), { id: 'svc-1', roles: ['reader', 'trainer'], via: 'jwt' });
    assert.deepEqual(await verifier.verify(await token(b, { sub: 'svc-2' })), { id: 'svc-2', roles: [], via: 'jwt' });
  });

  it('refuses an expired token, saying so, and accepts one expired within the clock tolerance', async () => {
    const refused = await refusal(verifier, await token(a, { expiresIn: -3600 }));
    assert.equal(refused.message, 'the bearer token has expired');
    assert.equal(refused.reason, 'ERR_JWT_EXPIRED');
    assert.equal((await verifier.verify(await token(a, { expiresIn: -10 }))).id, 'user-1');
  });

  it('refuses a token for another audience or from another issuer', async () => {
    assert.match((await refusal(verifier, await token(a, { audience: 'another-service' }))).reason, /aud/);
    assert.match((await refusal(verifier, await token(a, { issuer: 'https://evil.test' }))).reason, /iss/);
  });

  it('refuses a token signed by a key the JWKS lacks, even under a known key id', async () => {
    const impostor = await signingKey('a', 'ES256');
    assert.match((await refusal(verifier, await token(impostor))).reason, /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
    const stranger = await signingKey('z', 'ES256');
    assert.match((await refusal(verifier, await token(stranger))).reason, /ERR_JWKS_NO_MATCHING_KEY/);
  });

  it('refuses alg none, a symmetric algorithm, and an algorithm off the allow-list', async () => {
    assert.equal((await refusal(verifier, unsignedToken({ roles: ['admin'] }))).message, 'the bearer token is not valid');
    const hs = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'a' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(new TextEncoder().encode('a'.repeat(32)));
    assert.match((await refusal(verifier, hs)).reason, /ERR_JOSE_ALG_NOT_ALLOWED/);
    const esOnly = new JwtVerifier(source, { ...OPTIONS, algorithms: ['ES256'] });
    assert.match((await refusal(esOnly, await token(b))).reason, /ERR_JOSE_ALG_NOT_ALLOWED/);
  });

  it('refuses a token without an expiry or a subject', async () => {
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'a' }).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).sign(a.privateKey);
    assert.match((await refusal(verifier, noExp)).reason, /exp/);
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'a' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(a.privateKey);
    assert.match((await refusal(verifier, noSub)).reason, /sub/);
  });

  it('reads roles from a nested claim, a namespaced claim or a space-separated string; refuses any other shape', () => {
    assert.deepEqual(principalFromClaims({ sub: 's', realm_access: { roles: ['a', 'b'] } }, 'realm_access.roles').roles, ['a', 'b']);
    assert.deepEqual(principalFromClaims({ sub: 's', 'https://x.test/roles': ['n'] }, 'https://x.test/roles').roles, ['n']);
    assert.deepEqual(principalFromClaims({ sub: 's', scope: 'read  write' }, 'scope').roles, ['read', 'write']);
    assert.deepEqual(principalFromClaims({ sub: 's' }, 'roles').roles, []);
    assert.deepEqual(principalFromClaims({ sub: 's', roles: ['*', 'r'] }, 'roles').roles, ['r'], '"*" is not a role a token can claim');
    assert.throws(() => principalFromClaims({ sub: 's', roles: [1] }, 'roles'), TokenRefused);
    assert.throws(() => principalFromClaims({ sub: 's', roles: { admin: true } }, 'roles'), TokenRefused);
  });

  it('does not start without a readable JWKS of public keys', async () => {
    await assert.rejects(new JwksSource({ location: '/nonexistent/jwks.json', refreshMs: 60_000, logger }).start(), ConfigError);
    const { generateKeyPair, exportJWK } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const leaked = await jwksFile([{ kid: 'p', alg: 'ES256', privateKey, jwk: await exportJWK(privateKey) }]);
    await assert.rejects(new JwksSource({ location: leaked, refreshMs: 60_000, logger }).start(), /private key/);
  });
});

describe('JWKS from a URL', () => {
  let server: Server;
  let url: string;
  let served: { status: number; body: string };
  let fetches = 0;
  let clock = 1_000_000;
  let source: JwksSource;
  let verifier: JwtVerifier;
  let a: SigningKey;
  let c: SigningKey;

  before(async () => {
    [a, c] = await Promise.all([signingKey('a'), signingKey('c')]);
    served = { status: 200, body: JSON.stringify({ keys: [a.jwk] }) };
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(served.status, { 'content-type': 'application/json' });
      res.end(served.body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    source = new JwksSource({ location: url, refreshMs: 3_600_000, logger, now: () => clock });
    await source.start();
    verifier = new JwtVerifier(source, OPTIONS);
  });
  after(() => {
    source.stop();
    server.close();
  });

  it('fetches once at start, not per request', async () => {
    const before = fetches;
    for (let i = 0; i < 5; i++) await verifier.verify(await token(a));
    assert.equal(fetches, before);
    assert.equal(before, 1);
  });

  it('refreshes early when a token names an unknown key id, at most once per cooldown, and then accepts it', async () => {
    served = { status: 200, body: JSON.stringify({ keys: [a.jwk, c.jwk] }) };
    const rotated = await token(c);
    const start = fetches;
    // Within the cooldown of the start's read: refused, and no fetch.
    await refusal(verifier, rotated);
    assert.equal(fetches, start);
    clock += REFRESH_COOLDOWN_MS + 1;
    const fetched = once(server, 'request');
    await refusal(verifier, rotated);
    await fetched;
    await source.refresh();
    assert.equal((await verifier.verify(rotated)).id, 'user-1');
  });

  it('keeps the keys it has when a refresh fails', async () => {
    served = { status: 503, body: 'down' };
    const before = fetches;
    await source.refresh();
    assert.equal(fetches, before + 1);
    assert.equal((await verifier.verify(await token(a))).id, 'user-1');
  });
});
