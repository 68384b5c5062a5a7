/**
 * --introspection admin|off through a real gateway: who may run `__schema` / `__type`, refused as a
 * validation error before anything executes; `__typename` stays. Pins that yoga's validation cache never
 * hands a document an admin validated to a caller the rule applies to.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Registry } from '../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { graphql, startAuthGateway } from '../helpers/auth-gateway.ts';
import type { AuthGateway } from '../helpers/auth-gateway.ts';
import { registryFromSdl } from '../helpers/repos.ts';

const SDL = `
type User @entity(key: ["user_id"]) { user_id: ID! }
type Stats @featureView(entity: "User") { n: Int }
`;
const POLICY = { default: { ops: ['read_online', 'admin'], reader: ['read_online'] } };
const INTROSPECT = '{ __schema { queryType { name } } }';

describe('introspection restricted (embedded stores)', () => {
  let registry: Registry;
  let stores: Stores;
  let admin: AuthGateway;
  let off: AuthGateway;

  before(async () => {
    registry = await registryFromSdl(SDL);
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
    const keys = { ops: ['ops'], reader: ['reader'] };
    admin = await startAuthGateway(registry, stores, undefined, { keys, policy: POLICY, flags: { introspection: 'admin' } });
    off = await startAuthGateway(registry, stores, undefined, { keys, policy: POLICY, flags: { introspection: 'off' } });
  });
  after(async () => {
    await Promise.all([admin.close(), off.close()]);
    await Promise.all([stores.online.close(), stores.offline.close()]);
  });

  it('with admin, lets an admin of every view introspect, and refuses the same document to a reader afterwards', async () => {
    const ops = await graphql(admin.base, admin.keys.ops, INTROSPECT);
    assert.deepEqual(ops.body, { data: { __schema: { queryType: { name: 'Query' } } } });
    // The same document, now validated (and cached) without the rule: the reader must still meet it.
    const reader = await graphql(admin.base, admin.keys.reader, INTROSPECT);
    assert.equal(reader.body.data, undefined);
    assert.deepEqual(reader.body.errors?.map((e) => [e.message, e.extensions?.code]), [['introspection (__schema) is not allowed for this caller (--introspection)', 'FORBIDDEN']]);
    const byType = await graphql(admin.base, admin.keys.reader, '{ __type(name: "Stats") { fields { name } } }');
    assert.deepEqual(byType.body.errors?.map((e) => e.extensions?.code), ['FORBIDDEN']);
    assert.ok(!byType.text.includes('"n"'));
  });

  it('with admin, still serves a reader __typename and data', async () => {
    const { body } = await graphql(admin.base, admin.keys.reader, '{ __typename user(user_id: "u") { stats { n } } }');
    assert.deepEqual(body, { data: { __typename: 'Query', user: { stats: { n: null } } } });
  });

  it('with off, refuses introspection to everyone, admins included', async () => {
    for (const id of ['ops', 'reader']) {
      const { body } = await graphql(off.base, off.keys[id], INTROSPECT);
      assert.deepEqual(body.errors?.map((e) => e.extensions?.code), ['FORBIDDEN'], id);
      assert.equal(body.data, undefined);
    }
  });
});
