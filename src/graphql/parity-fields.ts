/** `Query.parityReport`: what continuous parity found (ops/parity/report.ts, docs/parity.md). */
import { GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString } from 'graphql';
import type { GraphQLFieldConfig, GraphQLNullableOutputType } from 'graphql';
import { checkAdminOfAll } from '../auth/grants.ts';
import { grantsOf } from '../auth/principal.ts';
import type { OutcomeCounts } from '../ops/parity/judge.ts';
import { parityReport } from '../ops/parity/report.ts';
import type { ParityReport, ParityVerdict } from '../ops/parity/report.ts';
import type { ServingContext } from '../serving/context.ts';
import { coded } from './errors.ts';
import { DateTimeScalar, JSONScalar } from './scalars.ts';

const nonNull = <T extends GraphQLNullableOutputType>(t: T) => new GraphQLNonNull(t);
const int = nonNull(GraphQLInt);
const str = nonNull(GraphQLString);

const ParityCountsType = new GraphQLObjectType<OutcomeCounts>({
  name: 'ParityCounts',
  description: 'Verdicts by outcome: one per feature of each judged sample.',
  fields: {
    match: { type: int, description: 'Both paths gave the same value (exactly), or both had none.', resolve: (c) => c.MATCH },
    mismatch: { type: int, description: 'Both had a value and they differed.', resolve: (c) => c.MISMATCH },
    missingOnline: { type: int, description: 'The historical path has a value at T; the online path served none.', resolve: (c) => c.MISSING_ONLINE },
    missingOffline: { type: int, description: 'The online path served a value the historical path does not have at T.', resolve: (c) => c.MISSING_OFFLINE },
    skipped: { type: int, description: 'Not comparable: the view, feature or transform changed since the sample, or the replay failed.', resolve: (c) => c.SKIPPED },
  },
});

const ParityFeatureType = new GraphQLObjectType<{ view: string; feature: string; counts: OutcomeCounts }>({
  name: 'ParityFeature',
  fields: {
    view: { type: str },
    feature: { type: str },
    ref: { type: str, description: '`view:feature`.', resolve: (f) => `${f.view}:${f.feature}` },
    counts: { type: nonNull(ParityCountsType) },
  },
});

const ParityMismatchType = new GraphQLObjectType<ParityVerdict>({
  name: 'ParityMismatch',
  description: 'A feature whose online value differed from the historical value at the same T, with both values.',
  fields: {
    view: { type: str },
    feature: { type: str },
    keys: { type: nonNull(JSONScalar), description: 'The entity: join key → value.' },
    asOf: { type: nonNull(DateTimeScalar), description: 'T: the instant the online request was served at.' },
    onlineValue: { type: JSONScalar, description: 'What the online path served.' },
    offlineValue: { type: JSONScalar, description: 'What the historical path computes for the same keys at T, as known at T.' },
    reconciledAt: { type: nonNull(DateTimeScalar) },
  },
});

const ParityReportType = new GraphQLObjectType<ParityReport>({
  name: 'ParityReport',
  description: 'Online answers sampled and replayed through the historical path at their instant T (docs/parity.md).',
  fields: {
    since: { type: DateTimeScalar, description: 'Samples taken at or after this instant are counted; null: all on record.' },
    pending: { type: int, description: 'Samples taken since then and not judged yet (younger than --parity-settle, or not reconciled yet).' },
    totals: { type: nonNull(ParityCountsType) },
    features: { type: nonNull(new GraphQLList(nonNull(ParityFeatureType))), description: 'Per view and feature, sorted by view then feature.' },
    mismatches: { type: nonNull(new GraphQLList(nonNull(ParityMismatchType))), description: 'The newest mismatches, by sample time.' },
  },
});

export const parityReportField: GraphQLFieldConfig<unknown, ServingContext, { since?: number | null; limit: number }> = {
  // Nullable: a refusal (FORBIDDEN) is null for this field alone.
  type: ParityReportType,
  description: 'Continuous online/offline parity: verdicts on sampled online answers, replayed through the historical path at the same T.',
  args: {
    since: { type: DateTimeScalar, description: 'Count samples taken at or after this instant; all when omitted.' },
    limit: { type: GraphQLInt, defaultValue: 20, description: 'Most mismatches listed (0 to 1000).' },
  },
  resolve: (_root, args, ctx) =>
    coded(() => {
      // Mismatches carry online and offline values of any view.
      checkAdminOfAll(grantsOf(ctx), 'the parity report');
      return parityReport(ctx.stores.offline, { since: args.since ?? undefined, limit: args.limit });
    }),
};
