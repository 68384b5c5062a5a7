/**
 * `Query.featureStats`: data-quality statistics and drift per feature and recent window
 * (ops/quality/feature-stats.ts), read from the offline store when asked. A thin resolver: the options
 * (windows, read limits) are fixed when the schema is built.
 */
import { GraphQLBoolean, GraphQLEnumType, GraphQLFloat, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString } from 'graphql';
import type { GraphQLFieldConfig, GraphQLNullableOutputType } from 'graphql';
import { checkViews } from '../auth/grants.ts';
import { grantsOf } from '../auth/principal.ts';
import { featureStats } from '../ops/quality/feature-stats.ts';
import type { FeatureDrift, FeatureStats } from '../ops/quality/feature-stats.ts';
import type { QualityOptions } from '../ops/quality/options.ts';
import type { Quantile } from '../ops/quality/summary.ts';
import { statsTargets } from '../ops/quality/targets.ts';
import type { ServingContext } from '../serving/context.ts';
import { coded } from './errors.ts';
import { DateTimeScalar } from './scalars.ts';

const nn = <T extends GraphQLNullableOutputType>(type: T) => new GraphQLNonNull(type);

const QuantileType = new GraphQLObjectType<Quantile>({
  name: 'FeatureQuantile',
  fields: { q: { type: nn(GraphQLFloat) }, value: { type: nn(GraphQLFloat) } },
});

interface Bin {
  readonly lower: number | null;
  readonly upper: number | null;
  readonly reference: number;
  readonly current: number | null;
}

const DriftBinType = new GraphQLObjectType<Bin>({
  name: 'DriftBin',
  description: 'One bin of a drift reference: values v with lower < v ≤ upper (null: unbounded).',
  fields: {
    lower: { type: GraphQLFloat },
    upper: { type: GraphQLFloat },
    reference: { type: nn(GraphQLFloat), description: "Share of the reference's values in this bin." },
    current: { type: GraphQLFloat, description: "Share of the window's values in this bin; null when the window has none." },
  },
});

const DriftType = new GraphQLObjectType<FeatureDrift>({
  name: 'FeatureDrift',
  description: "A numeric feature's window against its latest reference (docs/data-quality.md).",
  fields: {
    psi: { type: GraphQLFloat, description: 'Population Stability Index over the reference bins; null when the window has no value.' },
    level: {
      type: new GraphQLEnumType({ name: 'DriftLevel', values: { STABLE: { description: 'PSI < 0.1' }, MODERATE: { description: '0.1 ≤ PSI ≤ 0.25' }, MAJOR: { description: 'PSI > 0.25' } } }),
    },
    values: { type: nn(GraphQLInt), description: 'Non-null values of the window binned.', resolve: (d) => d.count },
    referenceAt: { type: nn(DateTimeScalar), description: 'When the reference was captured.', resolve: (d) => d.reference.capturedAt },
    referenceOrigin: { type: nn(GraphQLString), description: '"export" (a training-set export) or "window" (skewless quality reference).', resolve: (d) => d.reference.origin },
    referenceNote: { type: nn(GraphQLString), resolve: (d) => d.reference.note },
    referenceValues: { type: nn(GraphQLInt), description: 'Values the reference was built from.', resolve: (d) => d.reference.sampleCount },
    bins: {
      type: nn(new GraphQLList(nn(DriftBinType))),
      resolve: (d): Bin[] =>
        d.reference.proportions.map((reference, i) => ({ lower: d.reference.edges[i - 1] ?? null, upper: d.reference.edges[i] ?? null, reference, current: d.current?.[i] ?? null })),
    },
  },
});

const numeric = (pick: (n: NonNullable<FeatureStats['summary']['numeric']>) => number) => ({ type: GraphQLFloat, resolve: (s: FeatureStats) => (s.summary.numeric === null ? null : pick(s.summary.numeric)) });
const quantileAt = (q: number) => numeric((n) => n.quantiles.find((x) => x.q === q)!.value);

const FeatureStatsType = new GraphQLObjectType<FeatureStats>({
  name: 'FeatureStats',
  description: "One feature's values over one recent window of the offline store.",
  fields: {
    ref: { type: nn(GraphQLString) },
    view: { type: nn(GraphQLString) },
    feature: { type: nn(GraphQLString) },
    type: { type: nn(GraphQLString), description: 'Declared type, e.g. "Float".' },
    window: { type: nn(GraphQLString), description: 'The window as asked or configured, e.g. "24h".' },
    from: { type: nn(DateTimeScalar) },
    to: { type: nn(DateTimeScalar) },
    basis: {
      type: nn(new GraphQLEnumType({ name: 'FeatureStatsBasis', values: { ROWS: { value: 'rows', description: 'History rows with event time in the window (row views).' }, ENTITIES: { value: 'entities', description: 'Entities active in the window, evaluated at its end (aggregation views).' } } })),
    },
    truncated: { type: nn(GraphQLBoolean), description: 'Whether the read limit left older rows or entities of the window out.' },
    count: { type: nn(GraphQLInt), description: 'Values looked at, nulls included.', resolve: (s) => s.summary.count },
    nulls: { type: nn(GraphQLInt), resolve: (s) => s.summary.nulls },
    nullRate: { type: GraphQLFloat, description: 'nulls / count; null when count is 0.', resolve: (s) => s.summary.nullRate },
    distinct: { type: GraphQLInt, description: 'Distinct non-null values (String, ID, Boolean features).', resolve: (s) => s.summary.distinct },
    min: numeric((n) => n.min),
    max: numeric((n) => n.max),
    mean: numeric((n) => n.mean),
    stddev: { ...numeric((n) => n.stddev), description: 'Population standard deviation.' },
    p50: quantileAt(0.5),
    p90: quantileAt(0.9),
    p99: quantileAt(0.99),
    quantiles: { type: nn(new GraphQLList(nn(QuantileType))), description: 'q = 0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99; empty for non-numeric features.', resolve: (s) => s.summary.numeric?.quantiles ?? [] },
    drift: { type: DriftType, description: 'Numeric features with a reference only.' },
  },
});

export function featureStatsField(options: QualityOptions): GraphQLFieldConfig<unknown, ServingContext, { view?: string | null; feature?: string | null; window?: string | null; end?: number | null }> {
  return {
    // Nullable: a refusal (FORBIDDEN, a bad argument) is null for this field alone.
    type: new GraphQLList(nn(FeatureStatsType)),
    description:
      'Data quality per feature and recent window, from the offline store: count, null rate, min, max, mean and quantiles (numeric), distinct values (String, ID, Boolean), ' +
      `and PSI drift against the latest reference. Without view, every row and aggregation view; without window, ${options.windows.map((w) => w.label).join(', ')}.`,
    args: {
      view: { type: GraphQLString },
      feature: { type: GraphQLString, description: "A feature of view, or a 'view:feature' ref." },
      window: { type: GraphQLString, description: 'A duration such as 1h, 24h or 7d.' },
      end: { type: DateTimeScalar, description: 'Where the windows end; default: now.' },
    },
    resolve: (_root, args, ctx) =>
      coded(() => {
        // Statistics describe a view's values: admin on every view they would cover (all stored views without `view`).
        checkViews(grantsOf(ctx), 'admin', statsTargets(ctx.registry, args.view, args.feature).map((t) => t.view.name));
        return featureStats({ registry: ctx.registry, offline: ctx.stores.offline, options, now: ctx.asOf }, args);
      }),
  };
}
