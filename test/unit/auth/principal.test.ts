/** The accessors other code reads a request's principal and grants through. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { OPEN_GRANTS } from '../../../src/auth/grants.ts';
import { ANONYMOUS, grantsOf, principalOf } from '../../../src/auth/principal.ts';
import type { RequestAuth } from '../../../src/auth/principal.ts';

it('reads the principal and grants from a context that inherits them, as yoga builds its context on the server context', () => {
  const grants = { allowsView: () => false, allowsService: () => false, adminOfAll: false };
  const auth: RequestAuth = { principal: { id: 'fraud-app', roles: ['reader'], via: 'api-key' }, grants };
  const context = Object.assign(Object.create({ requestId: 'r', auth }) as object, { asOf: 1 });
  assert.deepEqual(principalOf(context), { id: 'fraud-app', roles: ['reader'], via: 'api-key' });
  assert.equal(grantsOf(context), grants);
});

it('has no principal and every grant when the request is anonymous or the context was made outside the gateway', () => {
  assert.equal(principalOf({ auth: ANONYMOUS }), undefined);
  assert.equal(principalOf({}), undefined);
  assert.equal(principalOf(undefined), undefined);
  assert.equal(grantsOf({}), OPEN_GRANTS);
  assert.equal(grantsOf({ auth: ANONYMOUS }), OPEN_GRANTS);
});
