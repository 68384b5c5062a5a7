/**
 * The served GraphQL schema, generated from the registry at start-up. Pure: the same registry always gives
 * the same schema, and building it does no I/O.
 */
import { GraphQLNonNull, GraphQLObjectType, GraphQLSchema, assertValidSchema } from 'graphql';
import type { Registry } from '../registry/registry.ts';
import { buildFeatureTypes } from './feature-types.ts';
import { RegistryInfoType } from './registry-types.ts';
import { DateTimeScalar, JSONScalar } from './scalars.ts';

export function buildSchema(registry: Registry): GraphQLSchema {
  const featureTypes = buildFeatureTypes(registry);
  const query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      registry: {
        type: new GraphQLNonNull(RegistryInfoType),
        description: 'Every entity, source, feature view, request type and feature service this gateway serves.',
        resolve: () => registry,
      },
    },
  });
  const schema = new GraphQLSchema({
    query,
    // Entity and view types are listed explicitly so introspection shows every feature, typed and
    // described, before any root field returns them.
    types: [DateTimeScalar, JSONScalar, ...featureTypes.entities.values(), ...featureTypes.views.values()],
  });
  assertValidSchema(schema);
  return schema;
}
