/**
 * Typed online reads: per keyed type a root field for one key and one for a list (`user(user_id:)`,
 * `users(user_id: [...])`), returning the type, whose view fields load through the request's DataLoaders.
 * A keyed type is an entity, or a set of entities an on-demand view is keyed by together (`txn_signals`
 * reads User and Merchant views, so it lives on `UserAndMerchant`, asked for with both keys). Only the views
 * a query selects are read, and all of them in one store call per tick.
 */
import { GraphQLInputObjectType, GraphQLList, GraphQLNonNull } from 'graphql';
import type { GraphQLFieldConfig, GraphQLFieldConfigArgumentMap, GraphQLObjectType } from 'graphql';
import { SkewlessError } from '../errors.ts';
import { entityKey } from '../features/keys.ts';
import type { Registry } from '../registry/registry.ts';
import type { Entity, Field, FeatureView } from '../registry/types.ts';
import type { ServingContext } from '../serving/context.ts';
import { checkEntityCount } from '../serving/online-frame.ts';
import { onlineKeyOf, viewValueAt } from '../serving/value-at.ts';
import type { ViewValue } from '../serving/value-at.ts';
import { toGraphQLError } from './errors.ts';
import { inputType } from './scalars.ts';

/** An entity, or entities keyed together: what one typed root field returns. */
export interface KeyedType {
  readonly typeName: string;
  readonly description: string | undefined;
  readonly entities: readonly Entity[];
  /** Every join key of the entities, once each by name (entities may share a key, e.g. user_id). */
  readonly joinKeys: readonly Field[];
}

/** What a keyed type's field resolves to: its join key values and each entity's canonical key. */
export interface EntityObject {
  readonly __keys: Readonly<Record<string, string>>;
  readonly [joinKey: string]: unknown;
}

export function entityKeyedType(entity: Entity): KeyedType {
  return { typeName: entity.typeName, description: entity.description, entities: [entity], joinKeys: entity.joinKeys };
}

/**
 * The entity sets on-demand views are keyed by that are not one entity, in a stable order: each becomes a
 * type named by its entities (`UserAndMerchant`). Entities are ordered as the registry lists them, so
 * views keyed by [User, Merchant] and by [Merchant, User] share one type.
 */
export function compositeKeyedTypes(registry: Registry): KeyedType[] {
  const out = new Map<string, KeyedType>();
  for (const view of registry.views) {
    if (view.kind !== 'onDemand' || view.entities.length < 2) continue;
    const entities = registry.entities.filter((e) => view.entities.includes(e.name));
    const typeName = entities.map((e) => e.typeName).join('And');
    if (out.has(typeName)) continue;
    const joinKeys: Field[] = [];
    for (const key of entities.flatMap((e) => e.joinKeys)) if (!joinKeys.some((k) => k.name === key.name)) joinKeys.push(key);
    out.set(typeName, { typeName, description: 'keyed together: the views of each, and the on-demand views reading them', entities, joinKeys });
  }
  return [...out.values()];
}

/** `User` → `user`, `UserAndMerchant` → `userAndMerchant`. */
export function singularField(keyed: { readonly typeName: string }): string {
  return keyed.typeName[0]!.toLowerCase() + keyed.typeName.slice(1);
}

/** `user` → `users`, `address` → `addresses`, `company` → `companies`. */
export function pluralField(keyed: { readonly typeName: string }): string {
  const one = singularField(keyed);
  if (/(s|x|z|ch|sh)$/.test(one)) return `${one}es`;
  if (/[^aeiou]y$/.test(one)) return `${one.slice(0, -1)}ies`;
  return `${one}s`;
}

function toEntityObject(keyed: KeyedType, values: Record<string, unknown>): EntityObject {
  const keys: Record<string, string> = {};
  for (const entity of keyed.entities) {
    const key = entityKey(entity, values);
    if (!key.ok) throw toGraphQLError(new SkewlessError('INVALID_ENTITY_KEY', key.reason, { httpStatus: 400 }));
    keys[entity.name] = key.key;
  }
  return { ...values, __keys: keys };
}

export function entityRootFields(keyed: KeyedType, type: GraphQLObjectType): Record<string, GraphQLFieldConfig<unknown, ServingContext>> {
  const name = keyed.entities.map((e) => e.name).join(' and ');
  const keyArgs: GraphQLFieldConfigArgumentMap = {};
  for (const key of keyed.joinKeys) keyArgs[key.name] = { type: inputType(key.type), description: key.description };
  const single: GraphQLFieldConfig<unknown, ServingContext, Record<string, unknown>> = {
    type,
    description: `Features of one ${name}${keyed.description === undefined ? '' : ` (${keyed.description.replace(/\.$/, '')})`}, at the request's instant.`,
    args: keyArgs,
    resolve: (_root, args) => toEntityObject(keyed, args),
  };
  let plural: GraphQLFieldConfig<unknown, ServingContext, Record<string, unknown>>;
  if (keyed.joinKeys.length === 1) {
    const key = keyed.joinKeys[0]!;
    plural = {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type))),
      description: `Features of many ${name}s, in the order of the keys given.`,
      // Join keys are never null, so inputType already gives the non-null scalar.
      args: { [key.name]: { type: new GraphQLNonNull(new GraphQLList(inputType(key.type))) } },
      resolve: (_root, args, ctx) => {
        const values = args[key.name] as unknown[];
        guardCount(values.length, ctx);
        return values.map((v) => toEntityObject(keyed, { [key.name]: v }));
      },
    };
  } else {
    const input = new GraphQLInputObjectType({
      name: `${keyed.typeName}Key`,
      description: `The join keys of one ${name}.`,
      fields: () => Object.fromEntries(keyed.joinKeys.map((k) => [k.name, { type: inputType(k.type), description: k.description }])),
    });
    plural = {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type))),
      description: `Features of many ${name}s, in the order of the keys given.`,
      args: { keys: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(input))) } },
      resolve: (_root, args, ctx) => {
        const keys = args.keys as Record<string, unknown>[];
        guardCount(keys.length, ctx);
        return keys.map((k) => toEntityObject(keyed, { ...k }));
      },
    };
  }
  return { [singularField(keyed)]: single, [pluralField(keyed)]: plural };
}

function guardCount(count: number, ctx: ServingContext): void {
  try {
    checkEntityCount(count, ctx.limits.maxEntities);
  } catch (error) {
    throw toGraphQLError(error as SkewlessError);
  }
}

/** A stored view's value at T for the parent's entity, through the request's online loader. */
export async function loadStoredView(view: FeatureView, parent: EntityObject, ctx: ServingContext): Promise<ViewValue> {
  const entity = view.entities[0]!;
  let entry;
  try {
    entry = await ctx.online.load(onlineKeyOf(view, entity, parent.__keys[entity]!, ctx.asOf));
  } catch (error) {
    if (error instanceof SkewlessError) return viewValueAt(view, error, ctx.asOf);
    throw error;
  }
  return viewValueAt(view, entry, ctx.asOf);
}

/**
 * What a view field answers: the values and `_meta`. An ERROR value fails only this field, with its code;
 * the rest of the response is served.
 */
export function viewFieldResult(value: ViewValue, asOf: number): Record<string, unknown> {
  if (value.error !== null) throw toGraphQLError(value.error);
  return {
    ...(value.values ?? {}),
    _meta: { status: value.status, eventTimestamp: value.eventTs, ageMs: value.eventTs === null ? null : asOf - value.eventTs },
  };
}

/** Resolves a stored view field of an entity object: the view's values at T and `_meta`. */
export async function resolveViewField(view: FeatureView, parent: EntityObject, ctx: ServingContext): Promise<Record<string, unknown>> {
  return viewFieldResult(await loadStoredView(view, parent, ctx), ctx.asOf);
}
