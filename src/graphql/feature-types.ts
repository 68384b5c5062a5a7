/**
 * GraphQL types generated from the registry: one object type per feature view (its features, typed and
 * described as in schema/) and one per entity (its join keys and a field per view keyed by it).
 *
 * Feature fields are always nullable in the served schema, whatever the definition says: a value that is
 * missing, expired or unavailable is served as null, and its view's `_meta.status` says why.
 */
import { GraphQLEnumType, GraphQLFloat, GraphQLNonNull, GraphQLObjectType } from 'graphql';
import type { GraphQLFieldConfigMap } from 'graphql';
import type { Registry } from '../registry/registry.ts';
import type { Entity, FeatureView } from '../registry/types.ts';
import type { ServingContext } from '../serving/context.ts';
import { resolveViewField } from './entity-fields.ts';
import type { EntityObject } from './entity-fields.ts';
import { DateTimeScalar, outputType } from './scalars.ts';

export const FeatureStatusEnum = new GraphQLEnumType({
  name: 'FeatureStatus',
  description: 'Why a served value is what it is.',
  values: {
    PRESENT: { description: 'A value within its TTL was found.' },
    NOT_FOUND: { description: 'No value exists for this entity at this time.' },
    EXPIRED: { description: "The newest value is older than the view's TTL allows." },
    ERROR: { description: 'The value could not be read or computed; the error says why.' },
  },
});

export const ViewMetaType = new GraphQLObjectType({
  name: 'ViewMeta',
  description: "How fresh one view's values for one entity are.",
  fields: {
    status: { type: new GraphQLNonNull(FeatureStatusEnum) },
    eventTimestamp: { type: DateTimeScalar, description: 'Event time of the values served, if any.' },
    ageMs: { type: GraphQLFloat, description: 'Request time minus event time, in milliseconds.' },
  },
});

export interface FeatureTypes {
  readonly views: ReadonlyMap<string, GraphQLObjectType>;
  readonly entities: ReadonlyMap<string, GraphQLObjectType>;
}

export function buildFeatureTypes(registry: Registry): FeatureTypes {
  const views = new Map(registry.views.map((view) => [view.name, viewType(view)]));
  const entities = new Map(registry.entities.map((entity) => [entity.name, entityType(entity, registry, views)]));
  return { views, entities };
}

function viewType(view: FeatureView): GraphQLObjectType {
  const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
  for (const feature of view.features) {
    fields[feature.name] = {
      type: outputType(feature.type),
      description: feature.description,
      deprecationReason: feature.deprecationReason,
    };
  }
  fields._meta = { type: new GraphQLNonNull(ViewMetaType), description: 'Status and age of these values.' };
  return new GraphQLObjectType({
    name: view.typeName,
    description: view.description,
    fields,
    extensions: { skewless: { view: view.name, kind: view.kind } },
  });
}

function entityType(entity: Entity, registry: Registry, views: ReadonlyMap<string, GraphQLObjectType>): GraphQLObjectType {
  return new GraphQLObjectType({
    name: entity.typeName,
    description: entity.description,
    fields: () => {
      const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
      for (const key of entity.joinKeys) fields[key.name] = { type: outputType(key.type, true), description: key.description };
      for (const view of registry.viewsOf(entity.name)) {
        fields[view.name] = {
          type: views.get(view.name)!,
          description: view.description,
          resolve: (parent, _args, ctx) => resolveViewField(view, entity.name, parent as EntityObject, ctx as ServingContext),
        };
      }
      return fields;
    },
    extensions: { skewless: { entity: entity.name } },
  });
}
