/** `onlineFeatures` and the FeatureFrame it answers with (historicalFeatures answers with one too). */
import { GraphQLBoolean, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString } from 'graphql';
import type { GraphQLFieldConfig, GraphQLOutputType } from 'graphql';
import { checkSelection } from '../auth/grants.ts';
import { grantsOf } from '../auth/principal.ts';
import type { ServingContext } from '../serving/context.ts';
import { onlineFrame } from '../serving/online-frame.ts';
import type { OnlineArgs } from '../serving/online-frame.ts';
import { historicalFrame } from '../serving/historical-frame.ts';
import type { HistoricalArgs } from '../serving/historical-frame.ts';
import { coded } from './errors.ts';
import { FeatureStatusEnum } from './feature-types.ts';
import { DateTimeScalar, JSONScalar } from './scalars.ts';

const list = (t: GraphQLOutputType) => new GraphQLNonNull(new GraphQLList(t));

const FrameErrorType = new GraphQLObjectType({
  name: 'FrameError',
  description: 'Values of one view that could not be read, and why.',
  fields: {
    view: { type: new GraphQLNonNull(GraphQLString) },
    code: { type: new GraphQLNonNull(GraphQLString), description: 'e.g. ONLINE_STORE_UNAVAILABLE.' },
    message: { type: new GraphQLNonNull(GraphQLString) },
    rows: { type: list(new GraphQLNonNull(GraphQLInt)), description: 'Indexes of the affected entity rows.' },
  },
});

const TransformUsedType = new GraphQLObjectType({
  name: 'TransformUsed',
  description: 'The code that computed an on-demand view of this frame.',
  fields: {
    view: { type: new GraphQLNonNull(GraphQLString) },
    transform: { type: new GraphQLNonNull(GraphQLString), description: 'transforms/<transform>.ts' },
    sha256: { type: new GraphQLNonNull(GraphQLString), description: "Content hash of the transform's file, as in registry." },
  },
});

export const FeatureFrameType = new GraphQLObjectType({
  name: 'FeatureFrame',
  description: 'A table of feature values: one row per entity row given, in order.',
  fields: {
    columns: { type: list(new GraphQLNonNull(GraphQLString)), description: 'Join keys, then one column per feature, named by its ref as requested.' },
    rows: { type: list(list(JSONScalar)), description: 'Values, one row per entity row, aligned with columns.' },
    statuses: { type: list(list(FeatureStatusEnum)), description: 'Same shape as rows: why each value is what it is; null in join key columns.' },
    eventTimestamps: { type: list(list(DateTimeScalar)), description: "Same shape as rows: the event time of each value's row; null when there is none." },
    errors: { type: list(new GraphQLNonNull(FrameErrorType)), description: 'Values that could not be read; their statuses are ERROR.' },
    asOf: { type: new GraphQLNonNull(DateTimeScalar), description: 'The instant T every value was served at.' },
    transforms: { type: list(new GraphQLNonNull(TransformUsedType)), description: 'The transforms (with content hashes) that computed the on-demand columns.' },
  },
});

/** The arguments both retrieval fields take to say which features they want. */
const selectionArgs = {
  features: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)), description: 'Refs "view:feature", or "view" for all its features.' },
  service: { type: GraphQLString, description: 'A feature service, instead of features.' },
};

// The retrieval fields are nullable: a refusal of one (FORBIDDEN, a bad argument) is null for that field
// alone, and the other fields of the same operation still answer.
export const onlineFeaturesField: GraphQLFieldConfig<unknown, ServingContext, OnlineArgs> = {
  type: FeatureFrameType,
  description:
    'Feature vectors at the request instant. Give features (refs "view:feature", or "view" for all its features) or service; ' +
    'entities are objects with the join keys of every view asked for.',
  args: {
    ...selectionArgs,
    entities: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(JSONScalar))) },
    request: {
      type: new GraphQLList(new GraphQLNonNull(JSONScalar)),
      description: 'Request fields of on-demand views: one object per entity row, or one object for every row. Entity rows may carry them as columns instead; request wins.',
    },
  },
  resolve: (_root, args, ctx) => coded(() => onlineFrame(ctx, args, (selection) => checkSelection(grantsOf(ctx), 'read_online', selection.views, args.service))),
};


export const historicalFeaturesField: GraphQLFieldConfig<unknown, ServingContext, HistoricalArgs> = {
  type: FeatureFrameType,
  description:
    'Point-in-time-correct training rows. Each entity row has the join keys, event_timestamp (its instant T) and any other columns, ' +
    'returned unchanged and in order; each feature is the newest row with T - ttl <= event_timestamp <= T (asKnownAt: also created_timestamp <= T).',
  args: {
    ...selectionArgs,
    entities: { type: new GraphQLList(new GraphQLNonNull(JSONScalar)) },
    entitySql: { type: GraphQLString, description: 'Instead of entities: one SELECT (or WITH … SELECT) producing the entity rows, run read-only with a timeout.' },
    asKnownAt: { type: GraphQLBoolean, defaultValue: false, description: 'Only rows created by T: what the online store could have served then.' },
  },
  resolve: (_root, args, ctx) => coded(() => historicalFrame(ctx, args, (selection) => checkSelection(grantsOf(ctx), 'read_offline', selection.views, args.service))),
};
