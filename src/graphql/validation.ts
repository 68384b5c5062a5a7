/**
 * A validation rule that refuses unknown feature refs and services written literally in an operation,
 * before anything executes: `onlineFeatures(features: ["user_txn_stats:nope"])` is a validation error
 * naming each unknown ref and the closest existing one. Refs passed in variables are checked by the
 * resolver with the same code (UNKNOWN_FEATURE).
 */
import { GraphQLError, Kind } from 'graphql';
import type { ASTVisitor, ValidationContext, ValidationRule } from 'graphql';
import type { Registry } from '../registry/registry.ts';
import { closest } from '../registry/suggest.ts';
import { unknownFeatureError, unknownRefs } from '../serving/selection.ts';
import { toGraphQLError } from './errors.ts';

/** Root fields whose `features` / `service` arguments name registry features. */
const FEATURE_FIELDS = new Set(['onlineFeatures', 'historicalFeatures']);

export function featureRefsRule(registry: Registry): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    Field(node) {
      if (!FEATURE_FIELDS.has(node.name.value) || context.getParentType()?.name !== 'Query') return;
      for (const arg of node.arguments ?? []) {
        if (arg.name.value === 'features' && arg.value.kind === Kind.LIST) {
          const refs = arg.value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : []));
          const unknown = unknownRefs(registry, refs);
          if (unknown.length > 0) context.reportError(toGraphQLError(unknownFeatureError(unknown), arg.value));
        }
        if (arg.name.value === 'service' && arg.value.kind === Kind.STRING && registry.service(arg.value.value) === undefined) {
          const hint = closest(arg.value.value, registry.services.map((s) => s.name));
          context.reportError(
            new GraphQLError(`unknown feature service "${arg.value.value}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`, {
              nodes: arg.value,
              extensions: { code: 'UNKNOWN_SERVICE' },
            }),
          );
        }
      }
    },
  });
}
