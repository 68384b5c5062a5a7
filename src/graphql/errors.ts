/**
 * The one place errors become what a GraphQL client sees. SkewlessErrors keep their code, message,
 * whether retrying helps and any details, in `extensions`. Anything else is unexpected: a bug or a
 * failure nobody coded for. Those are masked (`maskedErrors`, below): the client gets "Unexpected error."
 * with the code INTERNAL and the request's id, and the real error goes to the log with the same id, so
 * an operator can find it from what a client reports without clients ever seeing internals.
 */
import { GraphQLError } from 'graphql';
import type { ASTNode } from 'graphql';
import { SkewlessError } from '../errors.ts';
import type { Logger } from '../ops/log.ts';

export function toGraphQLError(error: SkewlessError, nodes?: ASTNode | readonly ASTNode[], path?: readonly (string | number)[]): GraphQLError {
  // No originalError: yoga masks GraphQL errors that wrap non-GraphQL ones as "Unexpected error", and
  // everything a client may see is already in the message and extensions.
  return new GraphQLError(error.message, {
    ...(nodes === undefined ? {} : { nodes }),
    ...(path === undefined ? {} : { path }),
    // No `http` extension: yoga would turn it into the status of the whole response, and a field error in
    // an otherwise served response must not make clients drop the data that was served (HTTP 200).
    extensions: { code: error.code, retriable: error.retriable, ...(error.details ?? {}) },
  });
}

/** Runs a resolver body, turning any SkewlessError it throws into a coded GraphQL error. */
export async function coded<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof SkewlessError) throw toGraphQLError(error);
    throw error;
  }
}

/** The message of a masked error (yoga's wording, which clients may already match on). */
export const UNEXPECTED_ERROR_MESSAGE = 'Unexpected error.';

/** The code of an unexpected error. */
export const INTERNAL = 'INTERNAL';

export interface MaskOptions {
  /** Show the real message instead of UNEXPECTED_ERROR_MESSAGE (development only: --mask-errors off). */
  readonly expose: boolean;
  /** The id of the request being handled, put into masked errors. */
  readonly requestId: () => string | undefined;
}

/**
 * yoga's `maskedErrors.maskError`: errors that are GraphQL errors through and through (validation,
 * parsing, coded SkewlessErrors, the limits' refusals) pass unchanged; a SkewlessError a resolver let
 * escape without `coded` is turned into its coded error; anything else becomes UNEXPECTED_ERROR_MESSAGE
 * with code INTERNAL and the request id. yoga logs the original error whenever this returns a different
 * one (see graphqlErrorLog).
 */
export function maskError(options: MaskOptions): (error: unknown, message: string) => Error {
  return (error) => {
    const cause = rootCause(error);
    if (cause instanceof GraphQLError) return error as Error;
    const located = error instanceof GraphQLError ? error : undefined;
    if (cause instanceof SkewlessError) return toGraphQLError(cause, located?.nodes, located?.path);
    const requestId = options.requestId();
    return new GraphQLError(options.expose && cause instanceof Error ? cause.message : UNEXPECTED_ERROR_MESSAGE, {
      ...(located?.nodes === undefined ? {} : { nodes: located.nodes }),
      ...(located?.path === undefined ? {} : { path: located.path }),
      // `unexpected` is yoga's marker (stripped from the response): a request that failed this way and
      // served no data is answered 500.
      extensions: { code: INTERNAL, retriable: false, ...(requestId === undefined ? {} : { requestId }), unexpected: true },
    });
  };
}

/**
 * yoga's `logging.error`: an error yoga masked is logged with its real message, name, stack and field
 * path as `graphql.unexpected_error` (a SkewlessError that escaped uncoded as `graphql.uncoded_error`, at
 * warn); the logger adds the request id. Anything else yoga logs keeps its text.
 */
export function graphqlErrorLog(logger: Logger): (...args: unknown[]) => void {
  return (...args) => {
    const [first] = args;
    if (!(first instanceof Error)) {
      logger.error(String(first), { error: args.slice(1).map(String) });
      return;
    }
    const cause = rootCause(first);
    const path = first instanceof GraphQLError && first.path !== undefined ? first.path.join('.') : undefined;
    if (cause instanceof SkewlessError) {
      logger.warn('graphql.uncoded_error', { code: cause.code, error: cause.message, ...(path === undefined ? {} : { path }) });
      return;
    }
    const error = cause instanceof Error ? cause : first;
    logger.error('graphql.unexpected_error', { error: error.message, name: error.name, stack: error.stack, ...(path === undefined ? {} : { path }) });
  };
}

/** The innermost error a GraphQL error wraps (graphql-js wraps what resolvers throw), or the error itself. */
function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError != null) current = current.originalError;
  return current;
}
