/**
 * The one place Skewless errors become GraphQL errors: the code, whether retrying helps and any details go
 * into `extensions`. Errors that are not SkewlessErrors are left to yoga, which masks them in production.
 */
import { GraphQLError } from 'graphql';
import type { ASTNode } from 'graphql';
import { SkewlessError } from '../errors.ts';

export function toGraphQLError(error: SkewlessError, nodes?: ASTNode | readonly ASTNode[]): GraphQLError {
  // No originalError: yoga masks GraphQL errors that wrap non-GraphQL ones as "Unexpected error", and
  // everything a client may see is already in the message and extensions.
  return new GraphQLError(error.message, {
    ...(nodes === undefined ? {} : { nodes }),
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
