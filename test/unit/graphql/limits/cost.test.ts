/**
 * Query cost: entity rows × features for every online read of an operation, worked out from the document
 * once and completed with each request's variables.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parse } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { costPlan, evaluateCost } from '../../../../src/graphql/limits/cost.ts';
import { buildSchema } from '../../../../src/graphql/schema.ts';
import type { Registry } from '../../../../src/registry/registry.ts';
import { registryFromSdl } from '../../../helpers/repos.ts';

const SDL = `
type User @entity(key: ["user_id"]) { user_id: ID! }
type Merchant @entity(key: ["merchant_id"]) { merchant_id: ID! }
type StatsA @featureView(entity: "User") { a1: Int a2: Int a3: Int }
type StatsB @featureView(entity: "User") { b1: Int }
type MStats @featureView(entity: "Merchant") { m1: Int m2: Int }
input Req { amount: Float! }
type Pair @onDemand(transform: "pair", inputs: ["stats_a", "m_stats"], request: "Req") { p1: Float p2: Float }
type Model @featureService(features: ["stats_a:a1", "stats_b", "m_stats:m2"])
`;

let registry: Registry;
let schema: GraphQLSchema;
before(async () => {
  registry = await registryFromSdl(SDL, ['pair']);
  schema = buildSchema(registry);
});

const costOf = (query: string, variables?: Record<string, unknown>, operationName?: string) => evaluateCost(costPlan(schema, registry, parse(query), operationName), variables);

describe('query cost', () => {
  it('is entity rows × feature columns for onlineFeatures, bare views expanded', () => {
    assert.deepEqual(costOf('{ onlineFeatures(features: ["stats_a", "stats_b:b1"], entities: [{user_id: "1"}, {user_id: "2"}, {user_id: "3"}]) { rows } }'), { entities: 3, cost: 12 });
  });

  it("counts a feature service's features", () => {
    assert.deepEqual(costOf('{ onlineFeatures(service: "model", entities: [{user_id: "1", merchant_id: "m"}, {user_id: "2", merchant_id: "m"}]) { rows } }'), { entities: 2, cost: 6 });
  });

  it('reads entities and features given as variables from each request, with the same plan', () => {
    const query = parse('query Q($e: [JSON!]!, $f: [String!]) { onlineFeatures(features: $f, entities: $e) { rows } }');
    const plan = costPlan(schema, registry, query, undefined);
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ user_id: String(i) }));
    assert.deepEqual(evaluateCost(plan, { e: rows(5), f: ['stats_a'] }), { entities: 5, cost: 15 });
    assert.deepEqual(evaluateCost(plan, { e: rows(7), f: ['stats_b', 'stats_a:a2'] }), { entities: 7, cost: 14 });
    assert.deepEqual(evaluateCost(plan, { e: rows(2), f: [] }), { entities: 2, cost: 0 });
  });

  it("takes a variable's default when the request does not give it", () => {
    const query = 'query ($e: [JSON!]! = [{user_id: "1"}, {user_id: "2"}], $f: [String!] = ["stats_a"]) { onlineFeatures(features: $f, entities: $e) { rows } }';
    assert.deepEqual(costOf(query), { entities: 2, cost: 6 });
    assert.deepEqual(costOf(query, { e: [{ user_id: '1' }] }), { entities: 1, cost: 3 });
  });

  it('counts the features selected under typed view fields, a view read for _meta only as one', () => {
    assert.deepEqual(costOf('{ user(user_id: "1") { stats_a { a1 a2 _meta { status } } stats_b { _meta { status } } } }'), { entities: 1, cost: 3 });
  });

  it('follows fragments and inline fragments, and counts aliased selections', () => {
    const query = `
      query { users(user_id: ["1", "2", "3"]) { ...A stats_b { b1 again: b1 } } }
      fragment A on User { stats_a { a1 } ... on User { stats_a { a3 } } }`;
    assert.deepEqual(costOf(query), { entities: 3, cost: 12 });
  });

  it('counts on-demand views of keyed-together entities per key given', () => {
    const keys = Array.from({ length: 4 }, (_, i) => ({ user_id: String(i), merchant_id: 'm' }));
    assert.deepEqual(costOf('query ($k: [UserAndMerchantKey!]!) { userAndMerchants(keys: $k) { pair(request: {amount: 1}) { p1 p2 } } }', { k: keys }), { entities: 4, cost: 8 });
  });

  it('sums every online read of the request, aliases included', () => {
    const query = '{ a: users(user_id: ["1", "2"]) { stats_b { b1 } } b: users(user_id: ["3"]) { stats_b { b1 } } c: onlineFeatures(features: ["m_stats"], entities: [{merchant_id: "m"}]) { rows } }';
    assert.deepEqual(costOf(query), { entities: 4, cost: 5 });
  });

  it('takes a single key where a list is expected as one row', () => {
    assert.deepEqual(costOf('query ($id: ID!) { users(user_id: $id) { stats_b { b1 } } }', { id: '1' }), { entities: 1, cost: 1 });
  });

  it('costs nothing for historicalFeatures, the registry, introspection and mutations', () => {
    assert.deepEqual(costOf('{ historicalFeatures(features: ["stats_a"], entities: [{user_id: "1", event_timestamp: 0}]) { rows } registry { views { name } } __schema { types { name } } }'), { entities: 0, cost: 0 });
    assert.deepEqual(costOf('mutation { pushFeatures(view: "stats_b", rows: [{user_id: "1", event_timestamp: 0, b1: 1}]) { rows } }'), { entities: 0, cost: 0 });
  });

  it('costs the operation the request names', () => {
    const query = 'query Small { user(user_id: "1") { stats_b { b1 } } } query Big { users(user_id: ["1", "2"]) { stats_a { a1 a2 a3 } } }';
    assert.deepEqual(costOf(query, {}, 'Small'), { entities: 1, cost: 1 });
    assert.deepEqual(costOf(query, {}, 'Big'), { entities: 2, cost: 6 });
    assert.deepEqual(costOf(query, {}, 'Missing'), { entities: 0, cost: 0 });
  });
});
