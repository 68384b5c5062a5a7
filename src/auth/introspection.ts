/**
 * `--introspection on|admin|off`: a validation rule refuses `__schema` and `__type` for callers who may not
 * introspect, before anything executes (`__typename` stays: clients need it and it reveals nothing).
 *
 * The rule is added per request, and yoga caches validation results by document and by the names of the
 * rules applied: this rule has a name of its own, so a document an admin validated without it is never
 * served from that cache to a caller it applies to (test/e2e/auth-introspection.test.ts pins this).
 */
import { GraphQLError } from 'graphql';
import type { ASTVisitor, ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AuthSettings } from './config.ts';
import { grantsOf } from './principal.ts';

const META_FIELDS = new Set(['__schema', '__type']);

function skewlessIntrospectionRefused(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (!META_FIELDS.has(node.name.value)) return;
      context.reportError(
        new GraphQLError(`introspection (${node.name.value}) is not allowed for this caller (--introspection)`, { nodes: node, extensions: { code: 'FORBIDDEN', action: 'introspect' } }),
      );
    },
  };
}

/** The yoga plugin enforcing the mode; none for `on`. */
export function useIntrospectionPolicy(mode: AuthSettings['introspection']): Plugin | undefined {
  if (mode === 'on') return undefined;
  return {
    onValidate({ addValidationRule, context }) {
      if (mode === 'admin' && grantsOf(context).adminOfAll) return;
      addValidationRule(skewlessIntrospectionRefused);
    },
  };
}
