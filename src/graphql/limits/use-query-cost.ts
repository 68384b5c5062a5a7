/**
 * `useQueryCost`: before an operation executes, the entity rows and the cost (rows × features) of its
 * online reads (cost.ts) are checked against --max-entities, for the request as a whole, and --max-cost:
 * 400 TOO_MANY_ENTITIES or QUERY_TOO_COSTLY, with the figures and the limit, before any store is read.
 *
 * Per request this is a lookup of the document's cost plan (made once per parsed document, which yoga
 * reuses for identical query text) and a sum over its online root fields.
 */
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Counter } from 'prom-client';
import { SkewlessError } from '../../errors.ts';
import type { Registry } from '../../registry/registry.ts';
import { checkEntityCount } from '../../serving/online-frame.ts';
import { costPlan, evaluateCost } from './cost.ts';
import type { CostTerm } from './cost.ts';
import { refusalError } from './refusals.ts';

export const QUERY_TOO_COSTLY = 'QUERY_TOO_COSTLY';

export interface QueryCostOptions {
  readonly schema: GraphQLSchema;
  readonly registry: Registry;
  /** Most entity rows per request (--max-entities). */
  readonly maxEntities: number;
  readonly maxCost: number;
  readonly refused: Counter<'code'>;
}

export function useQueryCost(options: QueryCostOptions): Plugin {
  const { schema, registry, maxEntities, maxCost, refused } = options;
  const plans = new WeakMap<DocumentNode, Map<string, readonly CostTerm[]>>();
  const planOf = (document: DocumentNode, operationName: string | null | undefined): readonly CostTerm[] => {
    let byName = plans.get(document);
    if (byName === undefined) plans.set(document, (byName = new Map()));
    const key = operationName ?? '';
    let plan = byName.get(key);
    if (plan === undefined) byName.set(key, (plan = costPlan(schema, registry, document, operationName)));
    return plan;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const plan = planOf(args.document, args.operationName);
      if (plan.length === 0) return;
      const { entities, cost } = evaluateCost(plan, args.variableValues);
      let refusal;
      try {
        checkEntityCount(entities, maxEntities);
      } catch (error) {
        if (!(error instanceof SkewlessError)) throw error;
        refusal = { code: error.code, message: error.message, status: 400, details: { ...error.details, entities } };
      }
      if (refusal === undefined && cost > maxCost) {
        refusal = {
          code: QUERY_TOO_COSTLY,
          message: `this request would read ${cost} values (entity rows × features); the limit is ${maxCost} (--max-cost). Ask for fewer rows or features per request`,
          status: 400,
          details: { cost, limit: maxCost },
        };
      }
      if (refusal === undefined) return;
      refused.inc({ code: refusal.code });
      setResultAndStopExecution({ errors: [refusalError(refusal)] });
    },
  };
}
