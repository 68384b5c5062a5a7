/**
 * The served GraphQL schema, generated from the registry at start-up. Pure: the same registry always gives
 * the same schema, and building it does no I/O (resolvers reach stores through the request context).
 */
import { GraphQLNonNull, GraphQLObjectType, GraphQLSchema, assertValidSchema } from 'graphql';
import type { GraphQLFieldConfigMap } from 'graphql';
import { DEFAULT_QUALITY_OPTIONS } from '../ops/quality/options.ts';
import type { QualityOptions } from '../ops/quality/options.ts';
import type { Registry } from '../registry/registry.ts';
import type { ServingContext } from '../serving/context.ts';
import { entityRootFields } from './entity-fields.ts';
import { buildFeatureTypes } from './feature-types.ts';
import { historicalFeaturesField, onlineFeaturesField } from './frame-types.ts';
import { freshnessField } from './freshness-fields.ts';
import { parityReportField } from './parity-fields.ts';
import { pushFeaturesField } from './push-fields.ts';
import { featureStatsField } from './quality-fields.ts';
import { RegistryInfoType } from './registry-types.ts';
import { DateTimeScalar, JSONScalar } from './scalars.ts';

export interface SchemaOptions {
  /** Windows and read limits of Query.featureStats; the settings' defaults when absent. */
  readonly quality?: QualityOptions;
}

export function buildSchema(registry: Registry, options: SchemaOptions = {}): GraphQLSchema {
  const featureTypes = buildFeatureTypes(registry);
  const queryFields: GraphQLFieldConfigMap<unknown, ServingContext> = {
    registry: {
      type: new GraphQLNonNull(RegistryInfoType),
      description: 'Every entity, source, feature view, request type and feature service this gateway serves.',
      resolve: () => registry,
    },
    onlineFeatures: onlineFeaturesField as never,
    historicalFeatures: historicalFeaturesField as never,
    freshness: freshnessField as never,
    featureStats: featureStatsField(options.quality ?? DEFAULT_QUALITY_OPTIONS) as never,
    parityReport: parityReportField as never,
  };
  const addRoot = (fields: GraphQLFieldConfigMap<unknown, ServingContext>) => {
    for (const [name, field] of Object.entries(fields)) {
      // Generated names can meet (a view type `Users` and the plural of entity `User`): say so plainly.
      if (name in queryFields) throw new Error(`two root fields are named ${name}: rename one of the definitions they come from`);
      queryFields[name] = field;
    }
  };
  for (const [keyed, type] of featureTypes.keyed) addRoot(entityRootFields(keyed, type));
  addRoot(featureTypes.unkeyed);
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: queryFields }),
    mutation: new GraphQLObjectType({ name: 'Mutation', fields: { pushFeatures: pushFeaturesField as never } }),
    // Every view type is listed so introspection shows every feature, typed and described, including
    // views no root field returns yet.
    types: [DateTimeScalar, JSONScalar, ...featureTypes.keyed.values(), ...featureTypes.views.values(), ...featureTypes.requestInputs],
  });
  assertValidSchema(schema);
  return schema;
}
