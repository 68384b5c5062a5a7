/**
 * `useRequestMetrics`: the yoga plugin that counts GraphQL requests and times them by operation name,
 * operation type and outcome, times operations that select `historicalFeatures`, and writes one debug
 * line per request. It reads the per-request state the gateway puts in yoga's server context
 * (RequestState: the request id and when the request arrived), so it adds no timer or id of its own.
 *
 * Outcomes: `ok` (executed, no errors), `error` (executed, with errors: partial data counts here),
 * `invalid` (never executed: unparsable, invalid against the schema, or malformed parameters).
 */
import { Kind, getOperationAST } from 'graphql';
import type { OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayMetrics, RequestOutcome } from '../ops/gateway-metrics.ts';
import type { Logger } from '../ops/log.ts';

/** What the gateway knows of a request before yoga sees it; the plugin adds the operation. */
export interface RequestState {
  readonly requestId: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** The operation, once the document parsed: its label and type. */
  operation?: { readonly name: string; readonly type: string };
  /** Whether it was executed (false: refused by validation, or never parsed). */
  executed?: boolean;
  /** The operation name the request asked for, as given: the label when the document did not parse. */
  requestedName?: string | null | undefined;
}

export function useRequestMetrics(metrics: GatewayMetrics, logger: Logger): Plugin {
  return {
    onParams({ params, context }) {
      (context as unknown as RequestState).requestedName = params.operationName;
    },
    onValidate({ params, context }) {
      // Parsed: the operation is known even if validation refuses it.
      const op = getOperationAST(params.documentAST, (context as unknown as RequestState).requestedName);
      (context as unknown as RequestState).operation = { name: metrics.operations.label(op?.name?.value), type: op?.operation ?? 'unknown' };
    },
    onExecute({ args }) {
      (args.contextValue as unknown as RequestState).executed = true;
      const op = getOperationAST(args.document, args.operationName);
      if (op === null || op === undefined || !selectsHistorical(op)) return;
      const end = metrics.historicalSeconds.startTimer({ route: 'graphql' });
      return {
        onExecuteDone({ result }) {
          end({ outcome: hasErrors(result) ? 'error' : 'ok' });
        },
      };
    },
    onResultProcess({ result, serverContext }) {
      const state = serverContext as unknown as RequestState;
      if (typeof state.startedAt !== 'number') return;
      const outcome: RequestOutcome = state.executed !== true ? 'invalid' : hasErrors(result) ? 'error' : 'ok';
      const labels = { operation: state.operation?.name ?? metrics.operations.label(state.requestedName), type: state.operation?.type ?? 'unknown', outcome };
      const seconds = (performance.now() - state.startedAt) / 1000;
      metrics.requests.inc(labels);
      metrics.requestSeconds.observe(labels, seconds);
      logger.debug('graphql.request', { ...labels, ms: Math.round(seconds * 1e4) / 10 });
    },
  };
}

/** Whether the operation's root selects historicalFeatures (directly; fragments at the root are not followed). */
function selectsHistorical(op: OperationDefinitionNode): boolean {
  return op.selectionSet.selections.some((s) => s.kind === Kind.FIELD && s.name.value === 'historicalFeatures');
}

function hasErrors(result: unknown): boolean {
  if (Array.isArray(result)) return result.some(hasErrors);
  if (result === null || typeof result !== 'object' || Symbol.asyncIterator in result) return false;
  const errors = (result as { errors?: readonly unknown[] }).errors;
  return errors !== undefined && errors.length > 0;
}
