/** What the rate limit counts by default: the authenticated principal, else the client address. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { byPrincipalOrAddress } from '../../../../src/graphql/limits/use-rate-limit.ts';

it('counts an authenticated request by its principal and an anonymous one by its address, never mixing the two', () => {
  const req = { socket: { remoteAddress: '10.0.0.7' } };
  assert.equal(byPrincipalOrAddress({ req, auth: { principal: { id: 'svc-scoring', roles: [], via: 'api-key' } } }), 'principal:svc-scoring');
  assert.equal(byPrincipalOrAddress({ req, auth: { principal: undefined } }), 'address:10.0.0.7');
  // A principal named like an address is still a different key.
  assert.notEqual(byPrincipalOrAddress({ req, auth: { principal: { id: '10.0.0.7', roles: [], via: 'jwt' } } }), byPrincipalOrAddress({ req }));
  assert.equal(byPrincipalOrAddress({}), undefined);
});
