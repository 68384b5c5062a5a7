/**
 * The served GraphQL schema, generated from the registry at start-up. Pure: the same registry always gives
 * the same schema, and building it does no I/O (resolvers reach stores through the request context).
 */
import { GraphQLNonNull, GraphQLObjectType, GraphQLSchema, assertValidSchema } from 'graphql';
import type { GraphQLFieldConfigMap } from 'graphql';
import type { Registry } from '../registry/registry.ts';
import type { ServingContext } from '../serving/context.ts';
import { entityRootFields } from './entity-fields.ts';
import { buildFeatureTypes } from './feature-types.ts';
import { historicalFeaturesField, onlineFeaturesField } from './frame-types.ts';
import { pushFeaturesField } from './push-fields.ts';
import { RegistryInfoType } from './registry-types.ts';
import { DateTimeScalar, JSONScalar } from './scalars.ts';

export function buildSchema(registry: Registry): GraphQLSchema {
  const featureTypes = buildFeatureTypes(registry);
  const queryFields: GraphQLFieldConfigMap<unknown, ServingContext> = {
    registry: {
      type: new GraphQLNonNull(RegistryInfoType),
      description: 'Every entity, source, feature view, request type and feature service this gateway serves.',
      resolve: () => registry,
    },
    onlineFeatures: onlineFeaturesField as never,
    historicalFeatures: historicalFeaturesField as never,
  };
  for (const entity of registry.entities) Object.assign(queryFields, entityRootFields(entity, featureTypes.entities.get(entity.name)!));
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: queryFields }),
    mutation: new GraphQLObjectType({ name: 'Mutation', fields: { pushFeatures: pushFeaturesField as never } }),
    // Every view type is listed so introspection shows every feature, typed and described, including
    // views no root field returns yet.
    types: [DateTimeScalar, JSONScalar, ...featureTypes.entities.values(), ...featureTypes.views.values()],
  });
  assertValidSchema(schema);
  return schema;
}
