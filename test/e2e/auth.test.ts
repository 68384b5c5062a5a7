/**
 * Issue 8, authentication and authorization, through a real gateway on embedded stores: 401 with no data on
 * every protected route, the open probes, API keys (bearer and Basic), JWTs, and for each action
 * (read_online, read_offline, push, admin) a caller allowed and a caller denied with FORBIDDEN and no values.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Registry } from '../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { DEFAULT_POOL_OPTIONS } from '../../src/transforms/pool.ts';
import type { TransformPool } from '../../src/transforms/pool.ts';
import { startTransforms } from '../../src/transforms/start.ts';
import { call, graphql, startAuthGateway } from '../helpers/auth-gateway.ts';
import type { AuthGateway } from '../helpers/auth-gateway.ts';
import { AUDIENCE, ISSUER, jwksFile, signingKey, token, unsignedToken } from '../helpers/jwt.ts';
import type { SigningKey } from '../helpers/jwt.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

const POLICY = {
  default: { reader: ['read_online'], trainer: ['read_offline'], writer: ['push'], ops: ['read_online', 'read_offline', 'push', 'admin'] },
  views: { stats_c: { reader: [], trainer: [] }, stats_b: { writer: [] } },
  services: { serving_model: { 'model-app': ['read_online'] } },
};
const KEYS = { ops: ['ops'], reader: ['reader'], trainer: ['trainer'], writer: ['writer'], model: ['model-app'], scraper: [] };

// Values distinctive enough that finding one in a response body means it leaked.
const A_INT = 4242;
const B_COUNT = 31337;
const C_SCORE = 77.25;

describe('authentication and authorization over HTTP (embedded stores)', () => {
  let registry: Registry;
  let stores: Stores;
  let transforms: TransformPool | undefined;
  let gateway: AuthGateway;
  let idp: SigningKey;
  const eventTime = new Date(Date.now() - 60_000).toISOString();
  const key = (id: keyof typeof KEYS) => gateway.keys[id]!;
  const codes = (body: { errors?: { extensions?: Record<string, unknown> }[] }) => (body.errors ?? []).map((e) => e.extensions?.code);

  before(async () => {
    registry = await loadFixtureRegistry();
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
    transforms = await startTransforms(registry, DEFAULT_POOL_OPTIONS);
    idp = await signingKey('idp-1');
    const jwks = await jwksFile([idp]);
    gateway = await startAuthGateway(registry, stores, transforms, { keys: KEYS, policy: POLICY, flags: { jwtJwks: jwks, jwtIssuer: ISSUER, jwtAudience: AUDIENCE, jwtAlgorithms: 'ES256' } });
    const push = async (view: string, row: Record<string, unknown>) => {
      const { body } = await graphql(gateway.base, key('ops'), 'mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', { v: view, r: [{ user_id: 'u1', event_timestamp: eventTime, ...row }] });
      assert.deepEqual(body, { data: { pushFeatures: { rows: 1 } } });
    };
    await push('stats_a', { a_int: A_INT, a_float: 0.5 });
    await push('stats_b', { b_count: B_COUNT, b_label: 'b' });
    await push('stats_c', { c_score: C_SCORE });
  });
  after(async () => {
    await gateway.close();
    await transforms?.close();
    await Promise.all([stores.online.close(), stores.offline.close()]);
  });

  describe('authentication', () => {
    const ROUTES: [string, { method?: string; body?: unknown; headers?: Record<string, string> }][] = [
      ['/graphql', { body: { query: '{ onlineFeatures(features: ["stats_a:a_int"], entities: [{user_id: "u1"}]) { rows } }' } }],
      ['/graphql?query=%7B%20registry%20%7B%20views%20%7B%20name%20%7D%20%7D%20%7D', {}],
      ['/graphql', { headers: { accept: 'text/html' } }],
      ['/historical/export?format=csv', { body: { features: ['stats_a:a_int'], entities: [{ user_id: 'u1', event_timestamp: eventTime }] } }],
      ['/metrics', {}],
      ['/dashboard', {}],
      ['/', {}],
    ];

    it('answers 401 UNAUTHENTICATED with a challenge and no data on every protected route without credentials', async () => {
      for (const [route, init] of ROUTES) {
        const answer = await call(gateway.base, route, init);
        assert.equal(answer.status, 401, route);
        assert.equal(answer.headers.get('content-type'), 'application/json', route);
        assert.deepEqual(JSON.parse(answer.text), { error: { code: 'UNAUTHENTICATED', message: 'credentials required: send Authorization: Bearer <API key or JWT>' } }, route);
        assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="skewless", Basic realm="skewless", charset="UTF-8"', route);
      }
    });

    it('answers 401 invalid_token to a wrong key, an expired token, a token for another audience and an unsigned one', async () => {
      const secret = key('ops').slice(-43);
      const bad = [
        `skw_ops_${secret[0] === 'x' ? 'y' : 'x'}${secret.slice(1)}`,
        `skw_nobody_${secret}`,
        await token(idp, { expiresIn: -600, claims: { roles: ['ops'] } }),
        await token(idp, { audience: 'elsewhere', claims: { roles: ['ops'] } }),
        unsignedToken({ roles: ['ops'] }),
      ];
      for (const credential of bad) {
        for (const [route, init] of ROUTES) {
          const answer = await call(gateway.base, route, { ...init, credential });
          assert.equal(answer.status, 401, `${route} ${credential.slice(0, 12)}`);
          assert.equal(JSON.parse(answer.text).error.code, 'UNAUTHENTICATED');
          assert.ok(!answer.text.includes(String(A_INT)) && !answer.text.includes('stats_a'), answer.text);
          assert.match(answer.headers.get('www-authenticate')!, /^Bearer realm="skewless", error="invalid_token"/);
        }
      }
      assert.equal(JSON.parse((await call(gateway.base, '/graphql', { credential: bad[2] })).text).error.message, 'the bearer token has expired');
    });

    it('keeps /healthz and /readyz open', async () => {
      assert.equal((await call(gateway.base, '/healthz')).status, 200);
      assert.equal((await call(gateway.base, '/readyz')).status, 200);
    });

    it('lets a key with no roles scrape /metrics, and read no feature', async () => {
      const metrics = await call(gateway.base, '/metrics', { credential: key('scraper') });
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /skewless_graphql_requests_total/);
      const { body } = await graphql(gateway.base, key('scraper'), '{ user(user_id: "u1") { stats_a { a_int } } }');
      assert.deepEqual(codes(body), ['FORBIDDEN']);
    });

    it('takes an API key as the password of Basic authentication, as a browser sends it', async () => {
      const basic = Buffer.from(`reader:${key('reader')}`).toString('base64');
      const answer = await call(gateway.base, '/graphql', { body: { query: '{ user(user_id: "u1") { stats_a { a_int } } }' }, headers: { authorization: `Basic ${basic}` } });
      assert.deepEqual(JSON.parse(answer.text), { data: { user: { stats_a: { a_int: A_INT } } } });
    });

    it('takes a JWT: its sub is the principal and its roles claim decides what it may read', async () => {
      const jwt = await token(idp, { sub: 'alice', claims: { roles: ['reader'] } });
      const { body } = await graphql(gateway.base, jwt, '{ user(user_id: "u1") { stats_a { a_int } stats_c { c_score } } }');
      assert.deepEqual(body.data, { user: { stats_a: { a_int: A_INT }, stats_c: null } });
      assert.deepEqual(codes(body), ['FORBIDDEN']);
    });
  });

  describe('read_online', () => {
    it('serves onlineFeatures to an allowed caller, and refuses a denied view with FORBIDDEN, its path and no values, serving the rest', async () => {
      const q = `{
        allowed: onlineFeatures(features: ["stats_a:a_int"], entities: [{user_id: "u1"}]) { rows }
        denied: onlineFeatures(features: ["stats_a:a_int", "stats_c:c_score"], entities: [{user_id: "u1"}]) { rows }
      }`;
      const reader = await graphql(gateway.base, key('reader'), q);
      assert.deepEqual(reader.body.data, { allowed: { rows: [['u1', A_INT]] }, denied: null });
      assert.equal(reader.body.errors?.length, 1);
      assert.deepEqual(reader.body.errors![0]!.path, ['denied']);
      assert.deepEqual(reader.body.errors![0]!.extensions, { code: 'FORBIDDEN', retriable: false, action: 'read_online', denied: ['stats_c'] });
      assert.ok(!reader.text.includes(String(C_SCORE)), reader.text);
      const ops = await graphql(gateway.base, key('ops'), q);
      assert.deepEqual(ops.body.data?.denied, { rows: [['u1', A_INT, C_SCORE]] });
    });

    it('refuses a typed view field alone, at its path', async () => {
      const { body, text } = await graphql(gateway.base, key('reader'), '{ user(user_id: "u1") { user_id stats_a { a_int } stats_c { c_score _meta { status } } } }');
      assert.deepEqual(body.data, { user: { user_id: 'u1', stats_a: { a_int: A_INT }, stats_c: null } });
      assert.deepEqual(body.errors?.map((e) => [e.path, e.extensions?.code]), [[['user', 'stats_c'], 'FORBIDDEN']]);
      assert.ok(!text.includes(String(C_SCORE)) && !text.includes('PRESENT'), text);
    });

    it('refuses an on-demand view reading a view the caller may not read, typed or in a frame, and serves one reading only allowed views', async () => {
      const { body, text } = await graphql(
        gateway.base,
        key('reader'),
        `{ user(user_id: "u1") { scored(request: {amount: 2}) { combined } fragile(request: {amount: 8}) { echoed } }
           frame: onlineFeatures(features: ["scored"], entities: [{user_id: "u1", amount: 2}]) { rows } }`,
      );
      assert.deepEqual(body.data, { user: { scored: null, fragile: { echoed: 8 } }, frame: null });
      assert.deepEqual(body.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.denied]).sort(), [
        [['frame'], 'FORBIDDEN', ['scored']],
        [['user', 'scored'], 'FORBIDDEN', ['scored']],
      ]);
      // combined = a_int × c_score + amount: neither it nor its input may show.
      assert.ok(!text.includes(String(A_INT * C_SCORE + 2)) && !text.includes(String(C_SCORE)), text);
      const ops = await graphql(gateway.base, key('ops'), '{ user(user_id: "u1") { scored(request: {amount: 2}) { combined } } }');
      assert.deepEqual(ops.body.data, { user: { scored: { combined: A_INT * C_SCORE + 2 } } });
    });

    it('serves a feature service to a caller granted the service, not the same features asked for by name', async () => {
      const viaService = await graphql(gateway.base, key('model'), '{ onlineFeatures(service: "serving_model", entities: [{user_id: "u1"}]) { columns rows } }');
      assert.deepEqual(viaService.body.data, { onlineFeatures: { columns: ['user_id', 'stats_a:a_int', 'stats_c:c_score'], rows: [['u1', A_INT, C_SCORE]] } });
      const byName = await graphql(gateway.base, key('model'), '{ onlineFeatures(features: ["stats_a:a_int", "stats_c:c_score"], entities: [{user_id: "u1"}]) { rows } }');
      assert.deepEqual(byName.body.data, { onlineFeatures: null });
      assert.deepEqual(byName.body.errors?.[0]?.extensions?.denied, ['stats_a', 'stats_c']);
    });
  });

  describe('read_offline', () => {
    const historical = `query ($f: [String!]) { historicalFeatures(features: $f, entities: [{user_id: "u1", event_timestamp: "${new Date().toISOString()}"}]) { rows } }`;

    it('answers historicalFeatures to an allowed caller and refuses a denied one with FORBIDDEN and no values', async () => {
      const trainer = await graphql(gateway.base, key('trainer'), historical, { f: ['stats_a:a_int', 'stats_b:b_count'] });
      assert.equal(trainer.body.errors, undefined, trainer.text);
      assert.deepEqual(trainer.body.data!.historicalFeatures.rows.map((r: unknown[]) => r.slice(-2)), [[A_INT, B_COUNT]]);
      const reader = await graphql(gateway.base, key('reader'), historical, { f: ['stats_a:a_int'] });
      assert.deepEqual(reader.body.data, { historicalFeatures: null });
      assert.deepEqual(reader.body.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.action]), [[['historicalFeatures'], 'FORBIDDEN', 'read_offline']]);
      assert.ok(!reader.text.includes(String(A_INT)));
      const denied = await graphql(gateway.base, key('trainer'), historical, { f: ['stats_c:c_score'] });
      assert.deepEqual(denied.body.errors?.[0]?.extensions?.denied, ['stats_c']);
    });

    it('streams an export to an allowed caller, and refuses a denied one with 403 FORBIDDEN before any row', async () => {
      const args = { features: ['stats_a:a_int'], entities: [{ user_id: 'u1', event_timestamp: new Date().toISOString() }] };
      const trainer = await call(gateway.base, '/historical/export?format=csv&reference=off', { credential: key('trainer'), body: args });
      assert.equal(trainer.status, 200, trainer.text);
      assert.equal(trainer.text.split('\r\n')[1]!.split(',').at(-1), String(A_INT));
      const reader = await call(gateway.base, '/historical/export?format=csv&reference=off', { credential: key('reader'), body: args });
      assert.equal(reader.status, 403);
      assert.deepEqual(JSON.parse(reader.text), { error: { code: 'FORBIDDEN', message: 'not allowed to read_offline feature view stats_a', action: 'read_offline', denied: ['stats_a'] } });
    });
  });

  describe('push', () => {
    const push = (credential: string, view: string, value: Record<string, unknown>) =>
      graphql(gateway.base, credential, 'mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', {
        v: view,
        r: [{ user_id: 'u2', event_timestamp: new Date(Date.now() - 1000).toISOString(), ...value }],
      });
    const readU2 = async () => (await graphql(gateway.base, key('ops'), '{ user(user_id: "u2") { stats_a { a_int } stats_b { b_count } } }')).body.data!.user;

    it('takes rows from an allowed caller and refuses a denied one with FORBIDDEN, writing nothing', async () => {
      assert.deepEqual((await push(key('writer'), 'stats_a', { a_int: 7 })).body, { data: { pushFeatures: { rows: 1 } } });
      const denied = await push(key('writer'), 'stats_b', { b_count: 8 });
      assert.deepEqual(denied.body.data, { pushFeatures: null });
      assert.deepEqual(denied.body.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.denied]), [[['pushFeatures'], 'FORBIDDEN', ['stats_b']]]);
      assert.deepEqual(codes((await push(key('reader'), 'stats_a', { a_int: 9 })).body), ['FORBIDDEN']);
      assert.deepEqual(await readU2(), { stats_a: { a_int: 7 }, stats_b: { b_count: null } });
      const history = await stores.offline.query<{ n: number }>("select count(*)::int as n from skewless.history_stats_b where user_id = 'u2'");
      assert.equal(history[0]!.n, 0);
    });

    it('reports an unknown view as UNKNOWN_VIEW, as without auth', async () => {
      assert.deepEqual(codes((await push(key('writer'), 'stats_q', { a_int: 1 })).body), ['UNKNOWN_VIEW']);
    });
  });

  describe('admin', () => {
    it('answers featureStats to an admin of the view and refuses others with FORBIDDEN', async () => {
      const q = '{ featureStats(view: "stats_a", window: "1h") { ref max } }';
      const ops = await graphql(gateway.base, key('ops'), q);
      assert.equal(ops.body.errors, undefined, ops.text);
      assert.deepEqual(ops.body.data!.featureStats.find((s: { ref: string }) => s.ref === 'stats_a:a_int'), { ref: 'stats_a:a_int', max: A_INT });
      const reader = await graphql(gateway.base, key('reader'), q);
      assert.deepEqual(reader.body.data, { featureStats: null });
      assert.deepEqual(reader.body.errors?.[0]?.extensions, { code: 'FORBIDDEN', retriable: false, action: 'admin', denied: ['stats_a'] });
      assert.ok(!reader.text.includes(String(A_INT)));
    });

    it('refuses the parity report to a caller who is not admin of every view', async () => {
      const q = '{ parityReport { totals { match } } }';
      assert.deepEqual(codes((await graphql(gateway.base, key('reader'), q)).body), ['FORBIDDEN']);
      // Past the check, this store simply has no parity data yet.
      assert.deepEqual(codes((await graphql(gateway.base, key('ops'), q)).body), ['PARITY_UNAVAILABLE']);
    });
  });
});
