/**
 * `Query.freshness`: every stored view's freshness as the gateway's FreshnessMonitor last read it (ages
 * measured at the request): what a dashboard polls. The monitor reaches resolvers through the request
 * context (the gateway puts it there); a context without one answers FRESHNESS_UNAVAILABLE.
 */
import { GraphQLBoolean, GraphQLFloat, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString } from 'graphql';
import type { GraphQLFieldConfig, GraphQLNullableType } from 'graphql';
import { SkewlessError } from '../errors.ts';
import type { FreshnessReport, ViewFreshness } from '../ops/freshness.ts';
import { suggest } from '../registry/suggest.ts';
import type { ServingContext } from '../serving/context.ts';
import { coded } from './errors.ts';
import { DateTimeScalar } from './scalars.ts';

/** Where the resolver finds freshness: the gateway's monitor. */
export interface FreshnessContext {
  readonly freshness?: { report(): FreshnessReport } | undefined;
}

const nn = <T extends GraphQLNullableType>(t: T) => new GraphQLNonNull(t);
const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

const ViewFreshnessType = new GraphQLObjectType<ViewFreshness>({
  name: 'ViewFreshness',
  description: 'How fresh one stored view is.',
  fields: {
    view: { type: nn(GraphQLString) },
    kind: { type: nn(GraphQLString), description: '"row" or "aggregation".' },
    newestEventTime: {
      type: DateTimeScalar,
      description: "Event time of the view's newest value (row view: newest event_timestamp in history; aggregation view: newest archived event of its source). Null when it has none.",
    },
    ageSeconds: { type: GraphQLFloat, description: 'How old that value is now; null when there is none.', resolve: (v) => seconds(v.ageMs) },
    expectedFreshness: { type: GraphQLString, description: 'The schema\'s @featureView(freshness:), if declared.', resolve: (v) => v.expected },
    expectedSeconds: { type: GraphQLFloat, resolve: (v) => seconds(v.expectedMs) },
    stale: { type: nn(GraphQLBoolean), description: 'Older than its expected freshness, or declared one and has no value at all.' },
    topic: { type: GraphQLString, description: 'The Kafka topic feeding the view, if any.' },
    lag: { type: GraphQLFloat, description: 'Messages on that topic the materializer has not committed; null when Kafka is not configured.' },
  },
});

const FreshnessReportType = new GraphQLObjectType<FreshnessReport>({
  name: 'FreshnessReport',
  fields: {
    asOf: { type: nn(DateTimeScalar), description: 'The instant ages are measured at.' },
    checkedAt: { type: DateTimeScalar, description: 'When newest event times were last read (every --freshness-interval); null if never.' },
    error: { type: GraphQLString, description: 'Why the latest read failed, if it did; the values are then from the read before.' },
    views: { type: nn(new GraphQLList(nn(ViewFreshnessType))) },
  },
});

export const freshnessField: GraphQLFieldConfig<unknown, ServingContext & FreshnessContext, { views?: readonly string[] | null; staleOnly?: boolean | null }> = {
  type: nn(FreshnessReportType),
  description: 'Freshness of every stored view (row and aggregation views): age of the newest value, materializer lag, staleness against @featureView(freshness:).',
  args: {
    views: { type: new GraphQLList(nn(GraphQLString)), description: 'Only these views (default: all stored views).' },
    staleOnly: { type: GraphQLBoolean, defaultValue: false, description: 'Only the stale views.' },
  },
  resolve: (_root, args, ctx) =>
    coded(() => {
      if (ctx.freshness === undefined) throw new SkewlessError('FRESHNESS_UNAVAILABLE', 'this gateway was started without a freshness monitor', { httpStatus: 503 });
      return filterReport(ctx.freshness.report(), args.views ?? undefined, args.staleOnly === true);
    }),
};

/** The report narrowed to `views` (each must be a stored view: UNKNOWN_VIEW otherwise) and to stale ones. */
export function filterReport(report: FreshnessReport, views: readonly string[] | undefined, staleOnly: boolean): FreshnessReport {
  let selected = report.views;
  if (views !== undefined) {
    const known = new Set(selected.map((v) => v.view));
    const unknown = views.filter((v) => !known.has(v));
    if (unknown.length > 0) {
      const hints = unknown.map((u) => `"${u}"${suggest(u, [...known])}`);
      throw new SkewlessError('UNKNOWN_VIEW', `not a stored feature view: ${hints.join(', ')} (on-demand views have no freshness of their own)`, { httpStatus: 400, details: { unknown } });
    }
    const wanted = new Set(views);
    selected = selected.filter((v) => wanted.has(v.view));
  }
  if (staleOnly) selected = selected.filter((v) => v.stale);
  return { ...report, views: selected };
}
