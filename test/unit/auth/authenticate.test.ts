/** Reading the Authorization header: API keys as bearer or Basic password, JWTs, and every refusal's wording. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiKeys, createApiKey, parseKeyFile } from '../../../src/auth/api-keys.ts';
import { Authenticator } from '../../../src/auth/authenticate.ts';
import { JwksSource } from '../../../src/auth/jwks.ts';
import { JwtVerifier } from '../../../src/auth/jwt.ts';
import { createLogger } from '../../../src/ops/log.ts';
import { AUDIENCE, ISSUER, jwksFile, signingKey, token } from '../../helpers/jwt.ts';
import type { SigningKey } from '../../helpers/jwt.ts';

describe('Authorization header', () => {
  const made = createApiKey('app', ['reader']);
  const keys = new ApiKeys(parseKeyFile(made.line, 'keys.jsonl'));
  let key: SigningKey;
  let jwks: JwksSource;
  let both: Authenticator;

  before(async () => {
    key = await signingKey('k');
    jwks = new JwksSource({ location: await jwksFile([key]), refreshMs: 60_000, logger: createLogger('error', () => {}) });
    await jwks.start();
    both = new Authenticator(keys, new JwtVerifier(jwks, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], clockToleranceSeconds: 0, rolesClaim: 'roles' }));
  });
  after(() => jwks.stop());

  it('takes an API key as a bearer credential or as a Basic password, and a JWT as a bearer credential', async () => {
    assert.deepEqual(await both.authenticate({ authorization: `Bearer ${made.key}` }), { ok: true, principal: { id: 'app', roles: ['reader'], via: 'api-key' } });
    assert.deepEqual(await both.authenticate({ authorization: `bearer ${made.key}` }), { ok: true, principal: { id: 'app', roles: ['reader'], via: 'api-key' } });
    const basic = Buffer.from(`app:${made.key}`).toString('base64');
    assert.deepEqual(await both.authenticate({ authorization: `Basic ${basic}` }), { ok: true, principal: { id: 'app', roles: ['reader'], via: 'api-key' } });
    assert.deepEqual(await both.authenticate({ authorization: `Bearer ${await token(key, { sub: 'person', claims: { roles: 'a b' } })}` }), { ok: true, principal: { id: 'person', roles: ['a', 'b'], via: 'jwt' } });
  });

  it('refuses no header, an unknown scheme, a bad key and a bad token, telling credentials missing from credentials wrong', async () => {
    const cases: [Record<string, string>, string, boolean][] = [
      [{}, 'credentials required: send Authorization: Bearer <API key or JWT>', false],
      [{ authorization: '  ' }, 'credentials required: send Authorization: Bearer <API key or JWT>', false],
      [{ authorization: `Digest ${made.key}` }, 'unsupported Authorization scheme: send Authorization: Bearer <API key or JWT>', true],
      [{ authorization: 'Bearer ' }, 'the Authorization header has no credential after Bearer', true],
      [{ authorization: `Bearer ${made.key}x` }, 'the API key is not valid', true],
      [{ authorization: `Basic ${Buffer.from('app:wrong').toString('base64')}` }, 'the API key is not valid', true],
      [{ authorization: 'Bearer not.a.jwt' }, 'the bearer token is not valid', true],
      [{ authorization: `Bearer ${await token(key, { expiresIn: -60 })}` }, 'the bearer token has expired', true],
    ];
    for (const [headers, message, presented] of cases) {
      const outcome = await both.authenticate(headers);
      assert.equal(outcome.ok, false, JSON.stringify(headers));
      if (!outcome.ok) assert.deepEqual([outcome.message, outcome.presented], [message, presented], JSON.stringify(headers));
    }
  });

  it('refuses the kind of credential a gateway does not accept, and offers Basic only with API keys', async () => {
    const keysOnly = new Authenticator(keys, undefined);
    const outcome = await keysOnly.authenticate({ authorization: `Bearer ${await token(key)}` });
    assert.ok(!outcome.ok && outcome.message === 'the bearer credential is not valid (this gateway accepts API key)');
    assert.deepEqual(keysOnly.challenges, ['Bearer realm="skewless"', 'Basic realm="skewless", charset="UTF-8"']);
    const jwtOnly = new Authenticator(undefined, new JwtVerifier(jwks, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], clockToleranceSeconds: 0, rolesClaim: 'roles' }));
    assert.deepEqual(jwtOnly.challenges, ['Bearer realm="skewless"']);
    const refused = await jwtOnly.authenticate({ authorization: `Bearer ${made.key}` });
    assert.ok(!refused.ok && refused.message === 'API keys are not accepted here: send Authorization: Bearer <JWT>');
    const basic = await jwtOnly.authenticate({ authorization: `Basic ${Buffer.from(`app:${made.key}`).toString('base64')}` });
    assert.ok(!basic.ok && basic.message === 'unsupported Authorization scheme: send Authorization: Bearer <JWT>');
  });
});
