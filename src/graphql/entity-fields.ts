/**
 * Typed online reads: per entity a root field for one key and one for a list (`user(user_id:)`,
 * `users(user_id: [...])`), returning the entity's type, whose view fields load through the request's
 * DataLoader. Only the views a query selects are read, and all of them in one store call per tick.
 */
import { GraphQLInputObjectType, GraphQLList, GraphQLNonNull } from 'graphql';
import type { GraphQLFieldConfig, GraphQLFieldConfigArgumentMap, GraphQLObjectType } from 'graphql';
import { SkewlessError } from '../errors.ts';
import { entityKey } from '../features/keys.ts';
import type { Entity, FeatureView } from '../registry/types.ts';
import type { ServingContext } from '../serving/context.ts';
import { checkEntityCount } from '../serving/online-frame.ts';
import { viewValueAt } from '../serving/value-at.ts';
import { toGraphQLError } from './errors.ts';
import { inputType } from './scalars.ts';

/** What an entity field resolves to: its join key values and canonical key. */
export interface EntityObject {
  readonly __key: string;
  readonly [joinKey: string]: unknown;
}

/** `User` → `user`, `UserMerchant` → `userMerchant`. */
export function singularField(entity: Entity): string {
  return entity.typeName[0]!.toLowerCase() + entity.typeName.slice(1);
}

/** `user` → `users`, `address` → `addresses`, `company` → `companies`. */
export function pluralField(entity: Entity): string {
  const one = singularField(entity);
  if (/(s|x|z|ch|sh)$/.test(one)) return `${one}es`;
  if (/[^aeiou]y$/.test(one)) return `${one.slice(0, -1)}ies`;
  return `${one}s`;
}

function toEntityObject(entity: Entity, values: Record<string, unknown>): EntityObject {
  const key = entityKey(entity, values);
  if (!key.ok) throw toGraphQLError(new SkewlessError('INVALID_ENTITY_KEY', key.reason, { httpStatus: 400 }));
  return { ...values, __key: key.key };
}

export function entityRootFields(entity: Entity, type: GraphQLObjectType): Record<string, GraphQLFieldConfig<unknown, ServingContext>> {
  const keyArgs: GraphQLFieldConfigArgumentMap = {};
  for (const key of entity.joinKeys) keyArgs[key.name] = { type: inputType(key.type), description: key.description };
  const single: GraphQLFieldConfig<unknown, ServingContext, Record<string, unknown>> = {
    type,
    description: `Features of one ${entity.name}${entity.description === undefined ? '' : ` (${entity.description.replace(/\.$/, '')})`}, at the request's instant.`,
    args: keyArgs,
    resolve: (_root, args) => toEntityObject(entity, args),
  };
  let plural: GraphQLFieldConfig<unknown, ServingContext, Record<string, unknown>>;
  if (entity.joinKeys.length === 1) {
    const key = entity.joinKeys[0]!;
    plural = {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type))),
      description: `Features of many ${entity.name}s, in the order of the keys given.`,
      // Join keys are never null, so inputType already gives the non-null scalar.
      args: { [key.name]: { type: new GraphQLNonNull(new GraphQLList(inputType(key.type))) } },
      resolve: (_root, args, ctx) => {
        const values = args[key.name] as unknown[];
        guardCount(values.length, ctx);
        return values.map((v) => toEntityObject(entity, { [key.name]: v }));
      },
    };
  } else {
    const input = new GraphQLInputObjectType({ name: `${entity.typeName}Key`, description: `The join keys of one ${entity.name}.`, fields: () => Object.fromEntries(entity.joinKeys.map((k) => [k.name, { type: inputType(k.type), description: k.description }])) });
    plural = {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type))),
      description: `Features of many ${entity.name}s, in the order of the keys given.`,
      args: { keys: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(input))) } },
      resolve: (_root, args, ctx) => {
        const keys = args.keys as Record<string, unknown>[];
        guardCount(keys.length, ctx);
        return keys.map((k) => toEntityObject(entity, { ...k }));
      },
    };
  }
  return { [singularField(entity)]: single, [pluralField(entity)]: plural };
}

function guardCount(count: number, ctx: ServingContext): void {
  try {
    checkEntityCount(count, ctx.limits.maxEntities);
  } catch (error) {
    throw toGraphQLError(error as SkewlessError);
  }
}

/**
 * Resolves a view field of an entity object: the view's values at T and `_meta`. A store failure fails
 * only this field, with its code; the rest of the response is served.
 */
export async function resolveViewField(view: FeatureView, entity: string, parent: EntityObject, ctx: ServingContext): Promise<Record<string, unknown>> {
  let entry;
  try {
    entry = await ctx.online.load({ view: view.name, entity, entityKey: parent.__key });
  } catch (error) {
    if (error instanceof SkewlessError) throw toGraphQLError(error);
    throw error;
  }
  const value = viewValueAt(view, entry, ctx.asOf);
  return {
    ...(value.values ?? {}),
    _meta: { status: value.status, eventTimestamp: value.eventTs, ageMs: value.eventTs === null ? null : ctx.asOf - value.eventTs },
  };
}
