/**
 * The per-field check of typed view fields (`user { user_txn_stats }`, on-demand views): a table lookup
 * (auth/grants.ts), and when refused a FORBIDDEN error for this field alone, which GraphQL answers as null
 * at its path while the other fields are served.
 */
import { forbidden } from '../auth/grants.ts';
import type { Action } from '../auth/policy.ts';
import { grantsOf } from '../auth/principal.ts';
import { toGraphQLError } from './errors.ts';

export function authorizeField(ctx: unknown, action: Action, view: string): void {
  if (!grantsOf(ctx).allowsView(action, view)) throw toGraphQLError(forbidden(action, [view], 'feature view'));
}
