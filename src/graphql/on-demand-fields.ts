/**
 * Typed fields for on-demand views: `user(user_id: "u1") { scored(request: {amount: 12.5}) { ratio } }`.
 * The `request` argument is typed by the view's request input type, so introspection shows what a view
 * needs and GraphQL checks it before anything runs. The value is computed by the same plan and the same
 * sandbox call as on `onlineFeatures` and `historicalFeatures`: stored inputs read at T through the online
 * loader (sharing the request's round trip), then every row of the view in the tick in one sandbox call.
 */
import { GraphQLInputObjectType, GraphQLNonNull } from 'graphql';
import type { GraphQLFieldConfig, GraphQLInputType, GraphQLObjectType } from 'graphql';
import { SkewlessError } from '../errors.ts';
import type { Registry } from '../registry/registry.ts';
import type { Field, OnDemandView, RequestType } from '../registry/types.ts';
import type { ServingContext } from '../serving/context.ts';
import type { ViewValue } from '../serving/value-at.ts';
import { requestColumns } from '../transforms/evaluate.ts';
import { onDemandPlan } from '../transforms/plan.ts';
import type { OnDemandPlan } from '../transforms/plan.ts';
import { loadStoredView, viewFieldResult } from './entity-fields.ts';
import type { EntityObject } from './entity-fields.ts';
import { authorizeField } from './authorize.ts';
import { toGraphQLError } from './errors.ts';
import { inputType } from './scalars.ts';

/** GraphQL input types for request types, built once per schema and shared by every view using one. */
export class RequestInputs {
  readonly #types = new Map<string, GraphQLInputObjectType>();
  readonly #registry: Registry;

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /**
   * The input type a view's `request` argument takes: its request type as declared when the plan reads
   * fields of that type alone; when chained views read other request types too, one type merging them all
   * (`<View>Request`), so one argument carries everything the plan needs.
   */
  forPlan(view: OnDemandView, plan: OnDemandPlan): GraphQLInputObjectType | undefined {
    if (plan.requestFields.length === 0) return undefined;
    const types = [...new Set(plan.requestFields.map((r) => r.type))];
    if (types.length === 1) return this.#of(types[0]!.name, types[0]!.description, types[0]!.fields);
    const name = `${view.typeName}Request`;
    if (this.#registry.requestType(name) !== undefined) throw new Error(`input type ${name} is declared, and Skewless needs the name for the merged request of view ${view.name}: rename the input type`);
    const description = `What on-demand view ${view.name} and the views it reads need from the request: the fields of ${types.map((t) => t.name).join(', ')}.`;
    return this.#of(name, description, plan.requestFields.map((r) => r.field));
  }

  /** Every declared request type, so introspection shows each even if no view's argument uses it as is. */
  all(): GraphQLInputObjectType[] {
    return this.#registry.requestTypes.map((t: RequestType) => this.#of(t.name, t.description, t.fields));
  }

  #of(name: string, description: string | undefined, fields: readonly Field[]): GraphQLInputObjectType {
    let type = this.#types.get(name);
    if (type === undefined) {
      type = new GraphQLInputObjectType({
        name,
        description,
        fields: () => Object.fromEntries(fields.map((f) => [f.name, { type: inputType(f.type), description: f.description }])),
      });
      this.#types.set(name, type);
    }
    return type;
  }
}

/** The parent of a root field of a view keyed by no entity: the root value, which has no keys. */
const UNKEYED: EntityObject = { __keys: {} };

function keyedParent(parent: unknown): EntityObject {
  return (parent as Partial<EntityObject> | undefined)?.__keys === undefined ? UNKEYED : (parent as EntityObject);
}

export function onDemandViewField(registry: Registry, view: OnDemandView, type: GraphQLObjectType, inputs: RequestInputs): GraphQLFieldConfig<unknown, ServingContext> {
  // Worked out once here, not per request: which transforms run, in which order, reading what.
  const plan = onDemandPlan(registry, [view]);
  const request = inputs.forPlan(view, plan);
  const required = plan.requestFields.some((r) => !r.field.type.nullable);
  return {
    type,
    description: view.description ?? `Computed at the request's instant by transforms/${view.transform.name}.ts.`,
    ...(request === undefined ? {} : { args: { request: { type: (required ? new GraphQLNonNull(request) : request) as GraphQLInputType, description: 'The request fields the transform reads.' } } }),
    resolve: async (parent, args: { request?: Record<string, unknown> | null }, ctx) => {
      // Its grant is narrowed to the views it reads (auth/grants.ts): a denied input is never computed from.
      authorizeField(ctx, 'read_online', view.name);
      return viewFieldResult(await onDemandValue(view, plan, keyedParent(parent), args.request ?? {}, ctx), ctx.asOf);
    },
  };
}

/** The view's value for one entity at T: stored inputs read, request checked, then the batched sandbox call. */
async function onDemandValue(view: OnDemandView, plan: OnDemandPlan, parent: EntityObject, requestArg: Record<string, unknown>, ctx: ServingContext): Promise<ViewValue> {
  let request;
  try {
    request = requestColumns(plan, 1, () => requestArg);
  } catch (error) {
    if (error instanceof SkewlessError) throw toGraphQLError(error);
    throw error;
  }
  const stored = await Promise.all(plan.storedInputs.map((input) => loadStoredView(input, parent, ctx)));
  // A transform is never fed null in place of a value that could not be read: the input's error is the answer.
  const failed = stored.find((value) => value.status === 'ERROR');
  if (failed !== undefined) return failed;
  const inputs: Record<string, Readonly<Record<string, unknown>> | null> = {};
  plan.storedInputs.forEach((input, i) => (inputs[input.name] = stored[i]!.status === 'PRESENT' ? stored[i]!.values : null));
  const id = `${view.name}\u0000${JSON.stringify(parent.__keys)}\u0000${JSON.stringify(request)}`;
  return ctx.onDemand.load({ view, plan, inputs, request, id });
}
