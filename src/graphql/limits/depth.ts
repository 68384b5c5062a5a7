/**
 * The depth limit: a validation rule refusing operations whose fields nest deeper than `maxDepth`
 * (`{ user { stats { n } } }` is 3 deep), with the code QUERY_TOO_DEEP, the depth and the limit.
 *
 * The served schema has no cycles today, so depth is bounded by it anyway; the limit is defence in depth
 * for schemas that grow one, and it is checked once per distinct document (yoga caches validation).
 * Introspection (`__schema`, `__type`) is not counted: graphql-js's own MaxIntrospectionDepthRule, part of
 * the rules every request is validated with, bounds the one expensive introspection pattern (types nested
 * through `fields`/`interfaces`/`possibleTypes`), while GraphiQL's standard introspection query is 15
 * deep and must keep working under a limit sized for feature queries.
 */
import { GraphQLError, Kind } from 'graphql';
import type { ASTVisitor, FragmentDefinitionNode, OperationDefinitionNode, SelectionSetNode, ValidationContext, ValidationRule } from 'graphql';

export const QUERY_TOO_DEEP = 'QUERY_TOO_DEEP';

const INTROSPECTION = new Set(['__schema', '__type']);

/** How deep an operation's fields nest, through fragments; introspection fields count 0. */
export function operationDepth(operation: OperationDefinitionNode, fragment: (name: string) => FragmentDefinitionNode | null | undefined): number {
  // A fragment is as deep wherever it is spread: worked out once. In progress = -1 guards a cycle
  // (refused by validation's NoFragmentCycles; here it must only not loop).
  const known = new Map<string, number>();
  const depthOf = (selectionSet: SelectionSetNode | undefined): number => {
    if (selectionSet === undefined) return 0;
    let max = 0;
    for (const s of selectionSet.selections) {
      let d: number;
      if (s.kind === Kind.FIELD) d = INTROSPECTION.has(s.name.value) ? 0 : 1 + depthOf(s.selectionSet);
      else if (s.kind === Kind.INLINE_FRAGMENT) d = depthOf(s.selectionSet);
      else {
        const name = s.name.value;
        const memo = known.get(name);
        if (memo === undefined) {
          known.set(name, -1);
          d = depthOf(fragment(name)?.selectionSet);
          known.set(name, d);
        } else d = Math.max(0, memo);
      }
      if (d > max) max = d;
    }
    return max;
  };
  return depthOf(operation.selectionSet);
}

export function depthLimitRule(maxDepth: number): ValidationRule {
  // Named: yoga keys its validation cache by the rules' names.
  const rule = (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const depth = operationDepth(node, (name) => context.getFragment(name));
      if (depth > maxDepth) {
        const name = node.name === undefined ? 'the operation' : `operation ${node.name.value}`;
        context.reportError(
          new GraphQLError(`${name} nests fields ${depth} deep; the limit is ${maxDepth} (--max-depth)`, {
            nodes: node,
            extensions: { code: QUERY_TOO_DEEP, retriable: false, depth, limit: maxDepth },
          }),
        );
      }
      return false;
    },
  });
  Object.defineProperty(rule, 'name', { value: `depthLimit${maxDepth}` });
  return rule;
}
