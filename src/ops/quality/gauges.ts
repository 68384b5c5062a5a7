/**
 * The data-quality gauges, registered once per process on its Metrics registry and set by the refresher
 * (refresher.ts) from a full featureStats run; nothing on the request path touches them.
 *
 *   skewless_feature_values{view,feature,window}      values the statistics were computed from
 *   skewless_feature_null_rate{view,feature,window}   share of them that were null
 *   skewless_feature_mean{view,feature,window}        numeric features with a value
 *   skewless_feature_psi{view,feature,window}         numeric features with a reference and a value
 *   skewless_quality_refresh_timestamp_seconds        when the last refresh finished
 *   skewless_quality_refresh_duration_seconds         how long it took
 *   skewless_quality_refresh_failures_total{view}     views whose statistics could not be read
 *
 * A series whose value cannot be computed (an empty window, a feature without a reference) is absent
 * rather than 0 or NaN: 0 would read as "no nulls" or "no drift".
 */
import { counter, gauge } from '../metrics.ts';
import type { Metrics } from '../metrics.ts';
import type { FeatureStats } from './feature-stats.ts';

const LABELS = ['view', 'feature', 'window'] as const;

export interface QualityGauges {
  /** Replaces every feature series with `stats` (views that failed keep none) and records the run. */
  publish(stats: readonly FeatureStats[], finishedAt: number, durationMs: number): void;
  /** Counts a view whose statistics failed. */
  failed(view: string): void;
}

export function registerQualityGauges(metrics: Metrics): QualityGauges {
  const values = gauge(metrics, { name: 'skewless_feature_values', help: "Values a feature's data-quality statistics were computed from, per recent window.", labelNames: LABELS });
  const nullRate = gauge(metrics, { name: 'skewless_feature_null_rate', help: "Share of a feature's values that were null, per recent window.", labelNames: LABELS });
  const mean = gauge(metrics, { name: 'skewless_feature_mean', help: "Mean of a numeric feature's values, per recent window.", labelNames: LABELS });
  const psi = gauge(metrics, {
    name: 'skewless_feature_psi',
    help: 'Population Stability Index of a numeric feature against its latest reference, per recent window (< 0.1 stable, 0.1-0.25 moderate, > 0.25 major).',
    labelNames: LABELS,
  });
  const finished = gauge(metrics, { name: 'skewless_quality_refresh_timestamp_seconds', help: 'When the data-quality metrics were last refreshed (Unix time).' });
  const duration = gauge(metrics, { name: 'skewless_quality_refresh_duration_seconds', help: 'How long the last data-quality refresh took.' });
  const failures = counter(metrics, { name: 'skewless_quality_refresh_failures_total', help: 'Views whose data-quality statistics could not be read, counted per refresh.', labelNames: ['view'] });
  return {
    publish(stats, finishedAt, durationMs) {
      // Reset and set with no await between: a scrape sees the old series or the new ones, never a mix.
      for (const gauge of [values, nullRate, mean, psi]) gauge.reset();
      for (const s of stats) {
        const labels = { view: s.view, feature: s.feature, window: s.window };
        values.set(labels, s.summary.count);
        if (s.summary.nullRate !== null) nullRate.set(labels, s.summary.nullRate);
        if (s.summary.numeric !== null) mean.set(labels, s.summary.numeric.mean);
        if (s.drift?.psi != null) psi.set(labels, s.drift.psi);
      }
      finished.set(finishedAt / 1000);
      duration.set(durationMs / 1000);
    },
    failed(view) {
      failures.inc({ view });
    },
  };
}
