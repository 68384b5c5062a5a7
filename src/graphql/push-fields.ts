/** `Mutation.pushFeatures`: rows for a row view, validated whole, written offline then online. */
import { GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString } from 'graphql';
import type { GraphQLFieldConfig } from 'graphql';
import { checkView } from '../auth/grants.ts';
import { grantsOf } from '../auth/principal.ts';
import { pushRows, rowViewFor } from '../ingest/push.ts';
import type { PushResult } from '../ingest/push.ts';
import type { ServingContext } from '../serving/context.ts';
import { coded } from './errors.ts';
import { JSONScalar } from './scalars.ts';

const PushResultType = new GraphQLObjectType<PushResult>({
  name: 'PushResult',
  fields: {
    view: { type: new GraphQLNonNull(GraphQLString) },
    rows: { type: new GraphQLNonNull(GraphQLInt), description: 'Rows appended to offline history.' },
    onlineWritten: { type: new GraphQLNonNull(GraphQLInt), description: 'Entities whose online value was replaced.' },
    onlineKept: { type: new GraphQLNonNull(GraphQLInt), description: 'Entities whose stored online value was newer and was kept.' },
  },
});

// Nullable: a refused push (FORBIDDEN, bad rows) is null for itself alone, not for the whole operation.
export const pushFeaturesField: GraphQLFieldConfig<unknown, ServingContext, { view: string; rows: unknown[] }> = {
  type: PushResultType,
  description:
    'Append rows to a row view: each has the join keys, event_timestamp, optional created_timestamp (default: arrival time) and feature values. ' +
    'If any row is invalid nothing is written and the error lists every bad row (extensions.rowErrors: index, field, reason). ' +
    'Online, each entity keeps its newest row by (event_timestamp, created_timestamp).',
  args: {
    view: { type: new GraphQLNonNull(GraphQLString) },
    rows: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(JSONScalar))) },
  },
  resolve: (_root, args, ctx) =>
    coded(() => {
      // An unknown view is UNKNOWN_VIEW, as without auth; a known one needs push.
      checkView(grantsOf(ctx), 'push', rowViewFor(ctx.registry, args.view).name);
      return pushRows(ctx.registry, ctx.stores, args.view, args.rows, { arrivalMs: ctx.asOf, maxRows: ctx.limits.maxPushRows });
    }),
};
