/** The depth limit: how deep an operation nests, through fragments, with introspection left to graphql-js. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Kind, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import type { DocumentNode, FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { depthLimitRule, operationDepth } from '../../../../src/graphql/limits/depth.ts';
import { buildSchema } from '../../../../src/graphql/schema.ts';
import { registryFromSdl } from '../../../helpers/repos.ts';

function depthOf(text: string): number {
  const document: DocumentNode = parse(text);
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return operationDepth(operation, (name) => fragments.get(name));
}

describe('operationDepth', () => {
  it('counts nested fields, the deepest branch deciding', () => {
    assert.equal(depthOf('{ a }'), 1);
    assert.equal(depthOf('{ a { b { c } } d }'), 3);
    assert.equal(depthOf('{ a { b } d { e { f { g } } } }'), 4);
  });

  it('adds what fragments nest where they are spread; inline fragments add nothing themselves', () => {
    assert.equal(depthOf('{ a { ...F } } fragment F on T { b { c } }'), 3);
    assert.equal(depthOf('{ a { ... on T { b { ...F } } } } fragment F on T { c { d } }'), 4);
  });

  it('does not count introspection, and does not loop on a fragment cycle', () => {
    assert.equal(depthOf('{ __schema { types { fields { type { name } } } } a }'), 1);
    assert.equal(depthOf('{ a { ...F } } fragment F on T { b { ...F } }'), 2);
  });
});

describe('depthLimitRule', () => {
  let schema: GraphQLSchema;
  before(async () => {
    schema = buildSchema(await registryFromSdl('type User @entity(key: ["user_id"]) { user_id: ID! }\ntype Stats @featureView(entity: "User") { n: Int }'));
  });
  const errors = (text: string, max: number) => validate(schema, parse(text), [...specifiedRules, depthLimitRule(max)]);

  it('refuses an operation deeper than the limit with QUERY_TOO_DEEP, its depth and the limit', () => {
    const [error, ...rest] = errors('query Deep { user(user_id: "1") { stats { _meta { status } } } }', 3);
    assert.equal(rest.length, 0);
    assert.equal(error?.extensions.code, 'QUERY_TOO_DEEP');
    assert.equal(error?.extensions.depth, 4);
    assert.equal(error?.extensions.limit, 3);
    assert.match(error!.message, /operation Deep nests fields 4 deep; the limit is 3 \(--max-depth\)/);
    assert.deepEqual(errors('{ user(user_id: "1") { stats { _meta { status } } } }', 4), []);
  });

  it("lets GraphiQL's full introspection query through a small limit, while graphql-js still refuses introspection fan-out", () => {
    assert.deepEqual(errors(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }), 2), []);
    const fanOut = errors('{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }', 2);
    assert.deepEqual(fanOut.map((e) => e.message), ['Maximum introspection depth exceeded']);
  });
});
