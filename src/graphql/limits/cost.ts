/**
 * What an operation costs, worked out before it runs: for every online read it makes, the entity rows it
 * asks for times the features it asks for, summed. That is the number of values the gateway will read,
 * decode and serialise, which is what a request's time and memory grow with (docs/benchmarks.md: 100×50
 * costs ~100 times 1×50).
 *
 * Online reads are `onlineFeatures(entities:, features: | service:)` and the typed fields: `user(user_id:)`
 * (one row), `users(user_id: [...])` (one per key), and on-demand views keyed by no entity (one row). A
 * view selected for `_meta` only still counts as one feature per row: it is read all the same.
 * historicalFeatures is not counted (it is bounded by --max-historical-rows and runs in the offline store),
 * nor are mutations (--max-push-rows).
 *
 * Split in two so that the per-request part is small: `costPlan` walks the document once (the gateway
 * caches it per parsed document, which yoga itself reuses for identical query text), and the plan's terms
 * read only the variables they depend on. Fields under @skip/@include count as selected: the cost is an
 * upper bound.
 */
import { Kind, getNamedType, getNullableType, isListType, isObjectType, valueFromASTUntyped } from 'graphql';
import type { DocumentNode, FieldNode, FragmentDefinitionNode, GraphQLField, GraphQLNamedType, GraphQLObjectType, GraphQLSchema, OperationDefinitionNode, SelectionSetNode, ValueNode } from 'graphql';
import type { Registry } from '../../registry/registry.ts';

type Variables = Readonly<Record<string, unknown>> | null | undefined;

/** A count known from the document, or read from the request's variables. */
type Count = (variables: Variables) => number;

export interface CostTerm {
  /** The root field's response key (its alias or name), for messages. */
  readonly field: string;
  readonly entities: Count;
  readonly features: Count;
}

export interface Cost {
  /** Entity rows asked for by all online reads of the operation together. */
  readonly entities: number;
  /** Σ entity rows × features over the online reads. */
  readonly cost: number;
}

/** The online reads of the operation `operationName` selects (undefined: the only one), as cost terms. */
export function costPlan(schema: GraphQLSchema, registry: Registry, document: DocumentNode, operationName: string | null | undefined): readonly CostTerm[] {
  const operation = pickOperation(document, operationName);
  const root = schema.getQueryType();
  if (operation === undefined || operation.operation !== 'query' || root == null) return [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const defaults = variableDefaults(operation);
  const terms: CostTerm[] = [];
  eachField(operation.selectionSet, root, fragments, (node, def) => {
    const term = rootTerm(node, def, registry, fragments, defaults);
    if (term !== undefined) terms.push(term);
  });
  return terms;
}

export function evaluateCost(plan: readonly CostTerm[], variables: Variables): Cost {
  let entities = 0;
  let cost = 0;
  for (const term of plan) {
    const rows = term.entities(variables);
    entities += rows;
    cost += rows * term.features(variables);
  }
  return { entities, cost };
}

function rootTerm(node: FieldNode, def: GraphQLField<unknown, unknown>, registry: Registry, fragments: Fragments, defaults: Defaults): CostTerm | undefined {
  const field = node.alias?.value ?? node.name.value;
  if (node.name.value === 'onlineFeatures') {
    return { field, entities: listLength(argument(node, 'entities'), defaults), features: selectedRefs(node, registry, defaults) };
  }
  const type = getNamedType(def.type);
  if (keyedEntities(type) !== undefined) {
    // The plural field takes one list argument (the keys); the singular one asks for one row.
    const listArg = isListType(getNullableType(def.type)) ? def.args.find((a) => isListType(getNullableType(a.type))) : undefined;
    const entities = listArg === undefined ? one : listLength(argument(node, listArg.name), defaults);
    const features = viewFeatures(node.selectionSet, type as GraphQLObjectType, fragments);
    return { field, entities, features: () => features };
  }
  if (viewName(type) !== undefined) {
    const features = Math.max(1, featureSelections(node.selectionSet, type as GraphQLObjectType, fragments));
    return { field, entities: one, features: () => features };
  }
  return undefined;
}

const one: Count = () => 1;

/** Features selected under the view fields of a keyed type, each view counting at least one. */
function viewFeatures(selectionSet: SelectionSetNode | undefined, keyed: GraphQLObjectType, fragments: Fragments): number {
  let total = 0;
  eachField(selectionSet, keyed, fragments, (node, def) => {
    const type = getNamedType(def.type);
    if (viewName(type) !== undefined) total += Math.max(1, featureSelections(node.selectionSet, type as GraphQLObjectType, fragments));
  });
  return total;
}

/** Feature fields selected on a view type (every selection counts, aliases included; `_meta` does not). */
function featureSelections(selectionSet: SelectionSetNode | undefined, view: GraphQLObjectType, fragments: Fragments): number {
  let n = 0;
  eachField(selectionSet, view, fragments, (node) => {
    if (node.name.value !== '_meta') n++;
  });
  return n;
}

/** How many feature columns `features:` or `service:` asks for. */
function selectedRefs(node: FieldNode, registry: Registry, defaults: Defaults): Count {
  const count = (features: unknown, service: unknown): number => {
    if (typeof service === 'string') return registry.service(service)?.features.length ?? 0;
    if (!Array.isArray(features)) return typeof features === 'string' ? 1 : 0;
    const refs = features.filter((f): f is string => typeof f === 'string');
    // Unknown refs are refused by validation or the resolver; here each counts as one.
    const { refs: known, unknown } = registry.expandRefs(refs);
    return known.length + unknown.length;
  };
  const features = argument(node, 'features');
  const service = argument(node, 'service');
  if (!usesVariables(features) && !usesVariables(service)) {
    const fixed = count(literal(features), literal(service));
    return () => fixed;
  }
  return (variables) => count(valueOf(features, variables, defaults), valueOf(service, variables, defaults));
}

/** The length of a list argument: fixed for a literal list, read from the variables otherwise. */
function listLength(value: ValueNode | undefined, defaults: Defaults): Count {
  if (value === undefined || value.kind === Kind.NULL) return () => 0;
  if (value.kind === Kind.LIST) {
    const n = value.values.length;
    return () => n;
  }
  if (value.kind === Kind.VARIABLE) {
    const name = value.name.value;
    return (variables) => lengthOf(variables?.[name] ?? defaults.get(name));
  }
  // A single value where a list is expected is coerced to a list of one.
  return one;
}

function lengthOf(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return Array.isArray(value) ? value.length : 1;
}

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;
type Defaults = ReadonlyMap<string, unknown>;

/**
 * Calls `visit` for every field selected on `type` in `selectionSet`, through fragment spreads and inline
 * fragments (each fragment once per selection set, so a cycle cannot loop; validation refuses those anyway).
 */
function eachField(selectionSet: SelectionSetNode | undefined, type: GraphQLObjectType, fragments: Fragments, visit: (node: FieldNode, def: GraphQLField<unknown, unknown>) => void, seen = new Set<string>()): void {
  if (selectionSet === undefined) return;
  const fields = type.getFields();
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const def = fields[selection.name.value];
      // __typename and fields validation will refuse have no definition: nothing to read.
      if (def !== undefined) visit(selection, def);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      eachField(selection.selectionSet, type, fragments, visit, seen);
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      eachField(fragments.get(selection.name.value)?.selectionSet, type, fragments, visit, seen);
    }
  }
}

/** The entities of a keyed type (an entity, or entities keyed together), from its schema extensions. */
function keyedEntities(type: GraphQLNamedType): readonly string[] | undefined {
  return isObjectType(type) ? (type.extensions.skewless as { entities?: readonly string[] } | undefined)?.entities : undefined;
}

/** The view a view type serves, from its schema extensions. */
function viewName(type: GraphQLNamedType): string | undefined {
  return isObjectType(type) ? (type.extensions.skewless as { view?: string } | undefined)?.view : undefined;
}

function pickOperation(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (name == null) return operations.length === 1 ? operations[0] : undefined;
  return operations.find((o) => o.name?.value === name);
}

function variableDefaults(operation: OperationDefinitionNode): Defaults {
  const out = new Map<string, unknown>();
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue !== undefined) out.set(v.variable.name.value, valueFromASTUntyped(v.defaultValue));
  }
  return out;
}

function argument(node: FieldNode, name: string): ValueNode | undefined {
  return node.arguments?.find((a) => a.name.value === name)?.value;
}

function usesVariables(value: ValueNode | undefined): boolean {
  if (value === undefined) return false;
  if (value.kind === Kind.VARIABLE) return true;
  if (value.kind === Kind.LIST) return value.values.some(usesVariables);
  if (value.kind === Kind.OBJECT) return value.fields.some((f) => usesVariables(f.value));
  return false;
}

function literal(value: ValueNode | undefined): unknown {
  return value === undefined ? undefined : valueFromASTUntyped(value);
}

function valueOf(value: ValueNode | undefined, variables: Variables, defaults: Defaults): unknown {
  if (value === undefined) return undefined;
  const given = defaults.size === 0 ? variables : { ...Object.fromEntries(defaults), ...(variables ?? {}) };
  return valueFromASTUntyped(value, given);
}
