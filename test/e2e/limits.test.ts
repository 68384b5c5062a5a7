/**
 * Issue 8, bounded queries, over HTTP on embedded stores: depth and cost refusals with their codes, the
 * entity limit per request, the body size limit (declared and chunked), trusted documents, the rate
 * limit, malformed requests answered 4xx with a code, and unexpected errors masked with a request id
 * while the log keeps the real message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GraphQLObjectType, GraphQLSchema, GraphQLString, getIntrospectionQuery } from 'graphql';
import { SkewlessError } from '../../src/errors.ts';
import { parseTrustedDocuments, sha256Hex } from '../../src/graphql/limits/trusted-documents.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { countingStore } from '../helpers/gateway.ts';
import { postJson, startLimitedGateway } from '../helpers/limited-gateway.ts';
import type { LimitedGateway } from '../helpers/limited-gateway.ts';
import { moved, sample, scrape } from '../helpers/metrics.ts';
import { registryFromSdl } from '../helpers/repos.ts';

const SDL = `
type User @entity(key: ["user_id"]) { user_id: ID! }
type Stats @featureView(entity: "User") { a: Int b: Int c: Int }
`;
const SECRET = 'connection string postgres://admin:hunter2@db';

/** The served schema plus two fields that fail on purpose: one unexpectedly, one with a SkewlessError it does not code. */
function schemaWithFailures(registry: Registry): GraphQLSchema {
  const config = buildSchema(registry).toConfig();
  const query = config.query!.toConfig();
  const failing = new GraphQLObjectType({
    ...query,
    fields: {
      ...query.fields,
      boom: { type: GraphQLString, resolve: () => { throw new Error(SECRET); } },
      uncoded: { type: GraphQLString, resolve: () => { throw new SkewlessError('FEATURE_DISABLED', 'this feature is switched off', { httpStatus: 400 }); } },
    },
  });
  return new GraphQLSchema({ ...config, query: failing, types: config.types.filter((t) => t.name !== 'Query') });
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ user_id: `u${i + 1}` }));

describe('bounded queries (embedded stores)', () => {
  let registry: Registry;
  let schema: GraphQLSchema;
  let stores: Stores & { online: ReturnType<typeof countingStore> };
  const gateways: LimitedGateway[] = [];
  let limited: LimitedGateway;

  before(async () => {
    registry = await registryFromSdl(SDL);
    schema = schemaWithFailures(registry);
    stores = { online: countingStore(new MemoryOnlineStore()), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
    limited = await startLimitedGateway({ registry, schema, stores, maxEntities: 4, requestLimits: { maxDepth: 3, maxCost: 10, maxBodyBytes: 2048 } });
    gateways.push(limited);
    const pushed = await postJson(limited.base, {
      query: 'mutation ($r: [JSON!]!) { pushFeatures(view: "stats", rows: $r) { rows } }',
      variables: { r: rows(4).map((r, i) => ({ ...r, event_timestamp: Date.now() - 60_000, a: i, b: 10 + i, c: 20 + i })) },
    });
    assert.equal(pushed.body.data?.pushFeatures.rows, 4, JSON.stringify(pushed.body));
  });

  after(async () => {
    for (const g of gateways) await g.close();
    await Promise.all([stores.online.close(), stores.offline.close()]);
  });

  const started = async (options: Omit<Parameters<typeof startLimitedGateway>[0], 'registry' | 'schema' | 'stores'>) => {
    const g = await startLimitedGateway({ registry, schema, stores, ...options });
    gateways.push(g);
    return g;
  };
  const codeOf = (answer: { body: { errors?: { extensions?: Record<string, unknown> }[] } }) => answer.body.errors?.[0]?.extensions?.code;

  it('refuses an operation nested deeper than --max-depth with 400 QUERY_TOO_DEEP, its depth and the limit', async () => {
    const deep = await postJson(limited.base, { query: '{ user(user_id: "u1") { stats { _meta { status } } } }' });
    assert.equal(deep.status, 400);
    assert.equal(codeOf(deep), 'QUERY_TOO_DEEP');
    assert.equal(deep.body.errors![0]!.extensions!.depth, 4);
    assert.equal(deep.body.errors![0]!.extensions!.limit, 3);
    const ok = await postJson(limited.base, { query: '{ user(user_id: "u2") { stats { b } } }' });
    assert.deepEqual(ok.body, { data: { user: { stats: { b: 11 } } } });
  });

  it('still answers the full introspection query under that limit', async () => {
    const answer = await postJson(limited.base, { query: getIntrospectionQuery({ descriptions: true }) });
    assert.equal(answer.status, 200);
    assert.ok(answer.body.data?.__schema.types.some((t: { name: string }) => t.name === 'Stats'));
  });

  it('refuses a request costing more than --max-cost with 400 QUERY_TOO_COSTLY before any store read', async () => {
    const reads = stores.online.calls.length;
    const query = 'query Costly($e: [JSON!]!) { onlineFeatures(features: ["stats"], entities: $e) { rows } }';
    const before = await scrape(`${limited.base}/metrics`);
    // 4 rows × 3 features = 12 > 10.
    const costly = await postJson(limited.base, { query, variables: { e: rows(4) } });
    assert.equal(costly.status, 400);
    assert.equal(codeOf(costly), 'QUERY_TOO_COSTLY');
    assert.equal(costly.body.errors![0]!.extensions!.cost, 12);
    assert.equal(costly.body.errors![0]!.extensions!.limit, 10);
    assert.equal(costly.body.data, undefined);
    assert.equal(stores.online.calls.length, reads, 'refused before the store was read');
    const after = await scrape(`${limited.base}/metrics`);
    assert.equal(moved(before, after, 'skewless_requests_refused_total', { code: 'QUERY_TOO_COSTLY' }), 1);
    assert.equal(moved(before, after, 'skewless_graphql_requests_total', { operation: 'Costly', type: 'query', outcome: 'invalid' }), 1, 'counted as not executed');
    // The same document with 3 rows costs 9.
    const fits = await postJson(limited.base, { query, variables: { e: rows(3) } });
    assert.deepEqual(fits.body.data?.onlineFeatures.rows, [['u1', 0, 10, 20], ['u2', 1, 11, 21], ['u3', 2, 12, 22]]);
  });

  it('refuses more than --max-entities rows in one request, however they are spread over fields', async () => {
    const reads = stores.online.calls.length;
    const spread = await postJson(limited.base, { query: '{ a: users(user_id: ["u1", "u2", "u3"]) { stats { a } } b: users(user_id: ["u4", "u5"]) { stats { a } } }' });
    assert.equal(spread.status, 400);
    assert.equal(codeOf(spread), 'TOO_MANY_ENTITIES');
    assert.equal(spread.body.errors![0]!.extensions!.entities, 5);
    assert.equal(spread.body.errors![0]!.extensions!.limit, 4);
    assert.equal(stores.online.calls.length, reads);
  });

  it('refuses a body over --max-body with 413 BODY_TOO_LARGE, declared or chunked', async () => {
    const padded = { query: '{ user(user_id: "u1") { stats { a } } }', variables: { padding: 'x'.repeat(3000) } };
    const declared = await fetch(`${limited.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(padded) });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.get('connection'), 'close', 'the unread body is not kept on a live connection');
    assert.equal(((await declared.json()) as { errors: { extensions: { code: string; limit: number } }[] }).errors[0]!.extensions.code, 'BODY_TOO_LARGE');

    // No Content-Length: counted as it streams in.
    const bytes = new TextEncoder().encode(JSON.stringify(padded));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 500) controller.enqueue(bytes.subarray(i, i + 500));
        controller.close();
      },
    });
    const chunked = await fetch(`${limited.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(((await chunked.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'BODY_TOO_LARGE');

    const small = await postJson(limited.base, { query: padded.query, variables: { padding: 'x'.repeat(1500) } });
    assert.deepEqual(small.body, { data: { user: { stats: { a: 0 } } } });
  });

  it('answers malformed JSON and unparsable GraphQL with 400 and a code, whatever the client accepts', async () => {
    const json = await postJson(limited.base, '{"query": "{ user');
    assert.equal(json.status, 400);
    assert.equal(codeOf(json), 'BAD_REQUEST');
    for (const accept of ['application/json', 'application/graphql-response+json', '*/*']) {
      const syntax = await postJson(limited.base, { query: '{ user(user_id: "u1") { stats { a }' }, { accept });
      assert.equal(syntax.status, 400, accept);
      assert.equal(codeOf(syntax), 'GRAPHQL_PARSE_FAILED', accept);
    }
    const invalid = await postJson(limited.base, { query: '{ nope }' });
    assert.deepEqual([invalid.status, codeOf(invalid)], [400, 'GRAPHQL_VALIDATION_FAILED']);
    const text = await fetch(`${limited.base}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{ registry { views { name } } }' });
    assert.equal(text.status, 415);
    assert.equal(((await text.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('masks an unexpected error as "Unexpected error." with code INTERNAL and the request id, and logs the real one under that id', async () => {
    const answer = await postJson(limited.base, { query: '{ boom stats: user(user_id: "u1") { stats { a } } }' });
    const requestId = answer.headers.get('x-request-id');
    assert.ok(requestId);
    assert.equal(answer.status, 200, 'the rest of the response is served');
    assert.deepEqual(answer.body.data, { boom: null, stats: { stats: { a: 0 } } });
    assert.deepEqual(answer.body.errors?.map((e) => [e.message, e.extensions]), [['Unexpected error.', { code: 'INTERNAL', retriable: false, requestId }]]);
    assert.ok(!JSON.stringify(answer.body).includes('hunter2'), 'nothing of the real error reaches the client');
    const logged = limited.lines.filter((l) => l.msg === 'graphql.unexpected_error');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.error, SECRET);
    assert.equal(logged[0]!.requestId, requestId);
    assert.equal(logged[0]!.path, 'boom');
  });

  it('keeps the code and message of a SkewlessError, even one a resolver did not code', async () => {
    const answer = await postJson(limited.base, { query: '{ uncoded }' });
    assert.deepEqual(answer.body.errors?.map((e) => [e.message, e.extensions?.code]), [['this feature is switched off', 'FEATURE_DISABLED']]);
  });

  it('shows the real message with --mask-errors off', async () => {
    const open = await started({ maskErrors: false });
    const answer = await postJson(open.base, { query: '{ boom }' });
    assert.deepEqual(answer.body.errors?.map((e) => [e.message, e.extensions?.code]), [[SECRET, 'INTERNAL']]);
  });

  it('refuses the request after the burst with 429 RATE_LIMITED and Retry-After, counted per key', async () => {
    // One token per 1000 s: nothing refills while the test runs.
    const rated = await started({ requestLimits: { rateLimit: 0.001, rateLimitBurst: 3 } });
    const query = { query: '{ user(user_id: "u1") { stats { a } } }' };
    for (let i = 0; i < 3; i++) assert.equal((await postJson(rated.base, query)).status, 200, `request ${i + 1} is within the burst`);
    const refused = await postJson(rated.base, query);
    assert.equal(refused.status, 429);
    assert.equal(codeOf(refused), 'RATE_LIMITED');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 1000, `Retry-After ${refused.headers.get('retry-after')}`);
    assert.equal(sample(await scrape(`${rated.base}/metrics`), 'skewless_requests_refused_total', { code: 'RATE_LIMITED' }), 1);

    // Keyed by a header instead of the address: another key has its own burst.
    const byClient = await started({ requestLimits: { rateLimit: 0.001, rateLimitBurst: 1 }, rateLimitKey: (ctx) => String((ctx.req as { headers: Record<string, string> }).headers['x-client']) });
    assert.equal((await postJson(byClient.base, query, { 'x-client': 'a' })).status, 200);
    assert.equal((await postJson(byClient.base, query, { 'x-client': 'a' })).status, 429);
    assert.equal((await postJson(byClient.base, query, { 'x-client': 'b' })).status, 200);
  });

  it('runs only trusted documents, asked for by hash or by exact text', async () => {
    const document = 'query Trusted($id: ID!) { user(user_id: $id) { stats { c } } }';
    const hash = sha256Hex(document);
    const trusted = await started({ trustedDocuments: parseTrustedDocuments(JSON.stringify({ [hash]: document }), 'test.json') });
    const persisted = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });

    const byText = await postJson(trusted.base, { query: document, variables: { id: 'u3' } });
    assert.deepEqual(byText.body, { data: { user: { stats: { c: 22 } } } });
    const byHash = await postJson(trusted.base, { variables: { id: 'u4' }, extensions: persisted(hash) });
    assert.deepEqual(byHash.body, { data: { user: { stats: { c: 23 } } } });
    const params = new URLSearchParams({ variables: JSON.stringify({ id: 'u2' }), extensions: JSON.stringify(persisted(hash)) });
    const overGet = await fetch(`${trusted.base}/graphql?${params}`, { headers: { accept: 'application/json' } });
    assert.deepEqual(await overGet.json(), { data: { user: { stats: { c: 21 } } } });

    const other = await postJson(trusted.base, { query: '{ user(user_id: "u3") { stats { a b c } } }' });
    assert.deepEqual([other.status, codeOf(other)], [403, 'UNTRUSTED_DOCUMENT']);
    const unknown = await postJson(trusted.base, { variables: { id: 'u3' }, extensions: persisted(sha256Hex('{ registry { views { name } } }')) });
    assert.deepEqual([unknown.status, codeOf(unknown)], [400, 'PERSISTED_QUERY_NOT_FOUND']);
    const mismatch = await postJson(trusted.base, { query: '{ registry { views { name } } }', extensions: persisted(hash) });
    assert.deepEqual([mismatch.status, codeOf(mismatch)], [400, 'PERSISTED_QUERY_MISMATCH']);
    const metrics = await scrape(`${trusted.base}/metrics`);
    assert.deepEqual(['UNTRUSTED_DOCUMENT', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_MISMATCH'].map((code) => sample(metrics, 'skewless_requests_refused_total', { code })), [1, 1, 1]);
  });
});
