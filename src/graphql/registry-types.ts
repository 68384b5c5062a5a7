/**
 * `Query.registry`: the registry itself, queryable — entities, sources, views with their features,
 * request types and feature services. Resolvers read the immutable Registry; nothing here does I/O.
 */
import {
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
} from 'graphql';
import type { GraphQLNullableOutputType } from 'graphql';
import { typeText } from '../registry/fields.ts';
import type { Registry } from '../registry/registry.ts';
import type { Aggregation, Feature, FeatureView, Field } from '../registry/types.ts';
import { AGGREGATE_FUNCTIONS } from '../registry/types.ts';

const nn = <T extends GraphQLNullableOutputType>(t: T) => new GraphQLNonNull(t);
const list = (t: GraphQLNullableOutputType) => nn(new GraphQLList(nn(t)));
const str = { type: GraphQLString };
const nnStr = { type: nn(GraphQLString) };

const FieldInfo = new GraphQLObjectType<Field>({
  name: 'RegistryField',
  description: 'A field of a source, request type or entity key.',
  fields: {
    name: nnStr,
    type: { type: nn(GraphQLString), description: 'GraphQL spelling, e.g. "Float!".', resolve: (f) => typeText(f.type) },
    description: str,
  },
});

const AggregationInfo = new GraphQLObjectType<Aggregation>({
  name: 'RegistryAggregation',
  fields: {
    fn: { type: nn(new GraphQLEnumType({ name: 'AggregateFunction', values: Object.fromEntries(AGGREGATE_FUNCTIONS.map((f) => [f, {}])) })) },
    of: { ...str, description: 'Source field aggregated; null for COUNT of events.' },
    window: { ...nnStr, description: 'Window as written, e.g. "24h".' },
    windowMs: { type: nn(GraphQLFloat) },
    hop: { ...nnStr, description: 'Step in which the window\'s old edge moves.' },
    hopMs: { type: nn(GraphQLFloat) },
    slice: { ...nnStr, description: 'Width of the slices the online store keeps the head tile in; a read folds the raw events of one slice. Equal to hop when the head is not sliced.' },
    sliceMs: { type: nn(GraphQLFloat) },
    percentile: { type: GraphQLFloat },
  },
});

const FeatureInfo = new GraphQLObjectType<Feature>({
  name: 'RegistryFeature',
  fields: {
    name: nnStr,
    ref: { ...nnStr, description: '"view:feature", the name used in onlineFeatures and historicalFeatures.' },
    type: { type: nn(GraphQLString), description: 'Declared type, e.g. "Float".', resolve: (f) => typeText(f.type) },
    description: str,
    deprecationReason: str,
    aggregation: { type: AggregationInfo },
  },
});

const ViewKindEnum = new GraphQLEnumType({
  name: 'ViewKind',
  values: {
    ROW: { value: 'row', description: 'Precomputed rows, pushed or streamed.' },
    AGGREGATION: { value: 'aggregation', description: 'Windowed aggregations over a source.' },
    ON_DEMAND: { value: 'onDemand', description: 'Computed at request time by a transform.' },
  },
});

const TransformInfo = new GraphQLObjectType({
  name: 'RegistryTransform',
  fields: { name: nnStr, path: nnStr, sha256: { ...nnStr, description: 'Content hash recorded with every value it produces.' } },
});

const ViewInfo = new GraphQLObjectType<FeatureView>({
  name: 'RegistryView',
  fields: {
    name: nnStr,
    typeName: { ...nnStr, description: 'Its GraphQL type in the served schema.' },
    kind: { type: nn(ViewKindEnum) },
    description: str,
    entity: { ...str, description: 'The entity keying this view; null for on-demand views (see entities).', resolve: (v) => (v.kind === 'onDemand' ? null : v.entity) },
    entities: { type: list(GraphQLString) },
    ttl: { ...str, description: 'As written, e.g. "3d"; null means no lower bound.', resolve: (v) => (v.kind === 'onDemand' ? null : v.ttl) },
    ttlMs: { type: GraphQLFloat, resolve: (v) => (v.kind === 'onDemand' ? null : v.ttlMs) },
    owner: str,
    tags: { type: list(GraphQLString) },
    source: { ...str, resolve: (v) => (v.kind === 'aggregation' ? v.source : null) },
    topic: { ...str, description: 'Kafka topic of precomputed rows (row views).', resolve: (v) => (v.kind === 'row' ? v.topic : null) },
    transform: { type: TransformInfo, resolve: (v) => (v.kind === 'onDemand' ? v.transform : null) },
    inputs: { type: list(GraphQLString), resolve: (v) => (v.kind === 'onDemand' ? v.inputs : []) },
    request: { ...str, description: 'Request input type (on-demand views).', resolve: (v) => (v.kind === 'onDemand' ? v.request : null) },
    features: { type: list(FeatureInfo) },
  },
});

export const RegistryInfoType = new GraphQLObjectType<Registry>({
  name: 'RegistryInfo',
  description: 'Every definition in schema/ and transforms/.',
  fields: {
    entities: {
      type: list(
        new GraphQLObjectType({
          name: 'RegistryEntity',
          fields: { name: nnStr, description: str, joinKeys: { type: list(FieldInfo) } },
        }),
      ),
    },
    sources: {
      type: list(
        new GraphQLObjectType({
          name: 'RegistrySource',
          fields: { name: nnStr, description: str, topic: nnStr, timestampField: nnStr, fields: { type: list(FieldInfo) } },
        }),
      ),
    },
    views: {
      type: list(ViewInfo),
      args: {
        kind: { type: ViewKindEnum },
        entity: { type: GraphQLString },
        tag: { type: GraphQLString },
        owner: { type: GraphQLString },
      },
      description: 'Feature views, optionally filtered (filters combine with AND).',
      resolve: (r, args: { kind?: string; entity?: string; tag?: string; owner?: string }) =>
        r.views.filter(
          (v) =>
            (args.kind == null || v.kind === args.kind) &&
            (args.entity == null || v.entities.includes(args.entity)) &&
            (args.tag == null || v.tags.includes(args.tag)) &&
            (args.owner == null || v.owner === args.owner),
        ),
    },
    view: { type: ViewInfo, args: { name: { type: nn(GraphQLString) } }, resolve: (r, args: { name: string }) => r.view(args.name) },
    requestTypes: {
      type: list(new GraphQLObjectType({ name: 'RegistryRequestType', fields: { name: nnStr, description: str, fields: { type: list(FieldInfo) } } })),
    },
    featureServices: {
      type: list(
        new GraphQLObjectType({
          name: 'RegistryFeatureService',
          fields: { name: nnStr, description: str, owner: str, tags: { type: list(GraphQLString) }, features: { type: list(GraphQLString) } },
        }),
      ),
      resolve: (r) => r.services,
    },
  },
});
