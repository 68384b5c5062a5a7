/**
 * GraphQL types generated from the registry: one object type per feature view (its features, typed and
 * described as in schema/) and one per entity (its join keys and a field per view keyed by it).
 *
 * Feature fields are always nullable in the served schema, whatever the definition says: a value that is
 * missing, expired or unavailable is served as null, and its view's `_meta.status` says why.
 */
import { GraphQLEnumType, GraphQLFloat, GraphQLNonNull, GraphQLObjectType } from 'graphql';
import type { GraphQLFieldConfig, GraphQLFieldConfigMap, GraphQLInputObjectType } from 'graphql';
import type { Registry } from '../registry/registry.ts';
import type { FeatureView } from '../registry/types.ts';
import type { ServingContext } from '../serving/context.ts';
import { compositeKeyedTypes, entityKeyedType, resolveViewField, singularField } from './entity-fields.ts';
import type { EntityObject, KeyedType } from './entity-fields.ts';
import { RequestInputs, onDemandViewField } from './on-demand-fields.ts';
import { authorizeField } from './authorize.ts';
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
  /** The object type of each keyed type (entities, then entity sets on-demand views are keyed by). */
  readonly keyed: ReadonlyMap<KeyedType, GraphQLObjectType>;
  /** Root fields of on-demand views keyed by no entity (they read request fields only). */
  readonly unkeyed: Readonly<Record<string, GraphQLFieldConfig<unknown, ServingContext>>>;
  /** Every request input type. */
  readonly requestInputs: readonly GraphQLInputObjectType[];
}

export function buildFeatureTypes(registry: Registry): FeatureTypes {
  const views = new Map(registry.views.map((view) => [view.name, viewType(view)]));
  const inputs = new RequestInputs(registry);
  const keyedTypes = [...registry.entities.map(entityKeyedType), ...compositeKeyedTypes(registry)];
  const keyed = new Map(keyedTypes.map((k) => [k, keyedObjectType(k, registry, views, inputs)]));
  const unkeyed: Record<string, GraphQLFieldConfig<unknown, ServingContext>> = {};
  for (const view of registry.views) {
    if (view.kind === 'onDemand' && view.entities.length === 0) unkeyed[singularField(view)] = onDemandViewField(registry, view, views.get(view.name)!, inputs);
  }
  return { views, keyed, unkeyed, requestInputs: inputs.all() };
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

/**
 * A keyed type's fields: its join keys, every stored view of its entities, and every on-demand view
 * keyed by some of its entities (all of them for a composite type; an entity's own for an entity).
 */
function keyedObjectType(keyed: KeyedType, registry: Registry, views: ReadonlyMap<string, GraphQLObjectType>, inputs: RequestInputs): GraphQLObjectType {
  const names = keyed.entities.map((e) => e.name);
  return new GraphQLObjectType({
    name: keyed.typeName,
    description: keyed.description,
    fields: () => {
      const fields: GraphQLFieldConfigMap<unknown, ServingContext> = {};
      for (const key of keyed.joinKeys) fields[key.name] = { type: outputType(key.type, true), description: key.description };
      for (const view of registry.views) {
        if (view.kind === 'onDemand') {
          if (view.entities.length > 0 && view.entities.every((e) => names.includes(e))) fields[view.name] = onDemandViewField(registry, view, views.get(view.name)!, inputs);
        } else if (names.includes(view.entities[0]!)) {
          fields[view.name] = {
            type: views.get(view.name)!,
            description: view.description,
            resolve: (parent, _args, ctx) => {
              authorizeField(ctx, 'read_online', view.name);
              return resolveViewField(view, parent as EntityObject, ctx);
            },
          };
        }
      }
      return fields;
    },
    extensions: { skewless: { entities: names } },
  });
}
