/** `useDepthLimit`: adds the depth rule (depth.ts) to validation and counts what it refuses. */
import type { Plugin } from 'graphql-yoga';
import type { Counter } from 'prom-client';
import { QUERY_TOO_DEEP, depthLimitRule } from './depth.ts';

export function useDepthLimit(maxDepth: number, refused: Counter<'code'>): Plugin {
  const rule = depthLimitRule(maxDepth);
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
      return ({ valid, result }) => {
        if (!valid && result.some((e) => e.extensions.code === QUERY_TOO_DEEP)) refused.inc({ code: QUERY_TOO_DEEP });
      };
    },
  };
}
