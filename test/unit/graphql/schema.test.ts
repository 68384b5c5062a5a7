/** The served schema is a pure function of the registry and shows every feature, typed and described. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { GraphQLNonNull, graphql, printSchema } from 'graphql';
import type { GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { buildSchema } from '../../../src/graphql/schema.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { EXAMPLE_DIRS } from '../../helpers/paths.ts';
import { loadFixtureRegistry, registryFromSdl } from '../../helpers/repos.ts';

let registry: Registry;
let schema: GraphQLSchema;

before(async () => {
  registry = await loadFixtureRegistry(EXAMPLE_DIRS);
  schema = buildSchema(registry);
});

async function run(source: string) {
  const result = await graphql({ schema, source });
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  // Plain objects (graphql-js returns null-prototype ones) so deepEqual compares values only.
  return JSON.parse(JSON.stringify(result.data)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('buildSchema', () => {
  it('is deterministic', () => {
    assert.equal(printSchema(buildSchema(registry)), printSchema(schema));
  });

  it('has one object type per view with every feature, its type and its description', () => {
    for (const view of registry.views) {
      const type = schema.getType(view.typeName) as GraphQLObjectType | undefined;
      assert.ok(type, `no type ${view.typeName}`);
      assert.equal(type.description, view.description);
      const fields = type.getFields();
      for (const feature of view.features) {
        const field = fields[feature.name];
        assert.ok(field, `${view.typeName}.${feature.name} missing`);
        assert.equal(field.description, feature.description);
        assert.ok(!(field.type instanceof GraphQLNonNull), 'served features are nullable: missing values are null');
      }
      assert.ok(fields._meta, `${view.typeName} has no _meta`);
    }
    const windows = (schema.getType('UserTxnWindows') as GraphQLObjectType).getFields();
    assert.equal(String(windows.last_seen?.type), 'DateTime');
    assert.equal(String(windows.tx_count_24h?.type), 'Int');
    assert.equal(String(windows.tx_amount_24h?.type), 'Float');
  });

  it('has one object type per entity with its keys and a field per view it keys', () => {
    const user = (schema.getType('User') as GraphQLObjectType).getFields();
    assert.equal(String(user.user_id?.type), 'ID!');
    assert.equal(String(user.user_txn_stats?.type), 'UserTxnStats');
    assert.equal(String(user.user_txn_windows?.type), 'UserTxnWindows');
    const merchant = (schema.getType('Merchant') as GraphQLObjectType).getFields();
    assert.equal(String(merchant.merchant_baseline?.type), 'MerchantBaseline');
  });

  it('puts each on-demand view on the type keyed by the entities it reads, with its request type as a typed argument', () => {
    const composite = (schema.getType('UserAndMerchant') as GraphQLObjectType).getFields();
    assert.deepEqual(Object.keys(composite).slice(0, 2), ['user_id', 'merchant_id']);
    assert.deepEqual(Object.keys(composite).slice(2).sort(), ['merchant_baseline', 'txn_signals', 'user_txn_stats', 'user_txn_windows']);
    const signals = composite.txn_signals!;
    assert.equal(String(signals.type), 'TxnSignals');
    assert.deepEqual(signals.args.map((a) => `${a.name}: ${String(a.type)}`), ['request: TxnRequest!']);
    const request = schema.getType('TxnRequest') as GraphQLInputObjectType;
    const declared = registry.requestType('TxnRequest')!;
    assert.deepEqual(Object.values(request.getFields()).map((f) => [f.name, String(f.type), f.description]), declared.fields.map((f) => [f.name, `${f.type.scalar}${f.type.nullable ? '' : '!'}`, f.description]));
    // txn_signals reads a Merchant view too, so a User alone cannot compute it.
    assert.equal((schema.getType('User') as GraphQLObjectType).getFields().txn_signals, undefined);
    const root = schema.getQueryType()!.getFields();
    assert.deepEqual(root.userAndMerchant?.args.map((a) => `${a.name}: ${String(a.type)}`), ['user_id: ID!', 'merchant_id: ID!']);
    assert.deepEqual(root.userAndMerchants?.args.map((a) => `${a.name}: ${String(a.type)}`), ['keys: [UserAndMerchantKey!]!']);
  });

  it('answers Query.registry from the registry', async () => {
    const data = await run(`{ registry {
      entities { name joinKeys { name type } }
      sources { name topic timestampField fields { name type } }
      views { name kind entity entities ttl ttlMs owner tags source transform { name sha256 } inputs request features { name ref type description aggregation { fn of window hop slice sliceMs percentile } } }
      requestTypes { name fields { name type } }
      featureServices { name features }
    } }`);
    const r = data.registry;
    assert.deepEqual(r.entities.map((e: { name: string }) => e.name).sort(), ['Merchant', 'User']);
    assert.deepEqual(r.sources[0].fields.map((f: { type: string }) => f.type), ['ID!', 'ID!', 'Float!', 'String', 'DateTime!']);
    const byName = Object.fromEntries(r.views.map((v: { name: string }) => [v.name, v]));
    assert.deepEqual(Object.keys(byName).sort(), registry.views.map((v) => v.name).sort());
    assert.equal(byName.user_txn_stats.kind, 'ROW');
    assert.equal(byName.user_txn_stats.ttl, '3d');
    assert.equal(byName.user_txn_stats.ttlMs, 259_200_000);
    assert.equal(byName.user_txn_stats.owner, 'fraud-team');
    assert.equal(byName.user_txn_windows.kind, 'AGGREGATION');
    assert.equal(byName.user_txn_windows.source, 'Transaction');
    assert.equal(byName.txn_signals.kind, 'ON_DEMAND');
    assert.equal(byName.txn_signals.entity, null);
    assert.deepEqual(byName.txn_signals.entities, ['User', 'Merchant']);
    assert.equal(byName.txn_signals.transform.name, 'txn_signals');
    assert.match(byName.txn_signals.transform.sha256, /^[0-9a-f]{64}$/);
    const p95 = byName.merchant_baseline.features.find((f: { name: string }) => f.name === 'p95_tx_amount');
    assert.deepEqual(p95.aggregation, { fn: 'APPROX_PERCENTILE', of: 'amount', window: '30d', hop: '1d', slice: '24m', sliceMs: 1_440_000, percentile: 0.95 });
    const count24h = byName.user_txn_windows.features.find((f: { name: string }) => f.name === 'tx_count_24h');
    assert.deepEqual([count24h.aggregation.hop, count24h.aggregation.slice, count24h.aggregation.sliceMs], ['1h', '5m', 300_000], 'a slice as the schema gives it');
    assert.equal(r.featureServices[0].name, 'fraud_model_v1');
    assert.deepEqual(r.featureServices[0].features, registry.service('fraud_model_v1')?.features);
  });

  it('filters views by kind, entity, tag and owner', async () => {
    const data = await run(`{ registry {
      rows: views(kind: ROW) { name }
      merchant: views(entity: "Merchant") { name }
      batch: views(tag: "batch") { name }
      nobody: views(owner: "nobody") { name }
      one: view(name: "merchant_baseline") { name }
      none: view(name: "nope") { name }
    } }`);
    assert.deepEqual(data.registry.rows, [{ name: 'user_txn_stats' }]);
    assert.deepEqual(data.registry.merchant.map((v: { name: string }) => v.name).sort(), ['merchant_baseline', 'txn_signals']);
    assert.deepEqual(data.registry.batch, [{ name: 'user_txn_stats' }]);
    assert.deepEqual(data.registry.nobody, []);
    assert.deepEqual(data.registry.one, { name: 'merchant_baseline' });
    assert.equal(data.registry.none, null);
  });
});

describe('deprecated features', () => {
  it('carry their reason into the served schema, on stored and on-demand views', async () => {
    const { readSchemaFiles } = await import('../../../src/registry/sdl.ts');
    const { buildRegistry } = await import('../../../src/registry/build.ts');
    const text = [
      'type User @entity(key: ["user_id"]) { user_id: ID! }',
      'type Stats @featureView(entity: "User") { old: Int @deprecated(reason: "use new") new: Int }',
      'type Sig @onDemand(transform: "t", inputs: ["stats"]) { gone: Float @deprecated }',
    ].join('\n');
    const { decls, problems } = readSchemaFiles([{ path: 'inline.graphql', text }]);
    const result = buildRegistry(decls, [{ name: 't', path: 't.ts', sha256: '', source: 'export default function t() { return {}; }' }], problems);
    assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
    const served = buildSchema(result.registry);
    const stats = (served.getType('Stats') as GraphQLObjectType).getFields();
    assert.equal(stats.old?.deprecationReason, 'use new');
    assert.equal(stats.new?.deprecationReason, undefined);
    assert.equal((served.getType('Sig') as GraphQLObjectType).getFields().gone?.deprecationReason, 'No longer supported');
  });
});

describe('on-demand views in the served schema', () => {
  const build = async (text: string, transforms: string[]) => buildSchema(await registryFromSdl(text, transforms));

  it('merges the request types a chain reads into one argument, and serves a view keyed by no entity at the root', async () => {
    const served = await build(
      [
        'type User @entity(key: ["user_id"]) { user_id: ID! }',
        'type Stats @featureView(entity: "User") { n: Int }',
        'input A { x: Float! } input B { y: String }',
        'type First @onDemand(transform: "f", inputs: ["stats"], request: "A") { p: Float }',
        'type Second @onDemand(transform: "s", inputs: ["first"], request: "B") { q: Float }',
        'type Alone @onDemand(transform: "a", inputs: [], request: "B") { r: String }',
      ].join('\n'),
      ['f', 's', 'a'],
    );
    const user = (served.getType('User') as GraphQLObjectType).getFields();
    assert.deepEqual(user.first?.args.map((a) => String(a.type)), ['A!']);
    assert.deepEqual(user.second?.args.map((a) => String(a.type)), ['SecondRequest!']);
    const merged = (served.getType('SecondRequest') as GraphQLInputObjectType).getFields();
    assert.deepEqual(Object.values(merged).map((f) => `${f.name}: ${String(f.type)}`), ['x: Float!', 'y: String']);
    const alone = served.getQueryType()!.getFields().alone!;
    assert.equal(String(alone.type), 'Alone');
    assert.deepEqual(alone.args.map((a) => `${a.name}: ${String(a.type)}`), ['request: B'], 'no required field, so the argument may be left out');
  });
});
