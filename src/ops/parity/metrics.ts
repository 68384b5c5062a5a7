/**
 * Parity's metrics, registered once per process on its Metrics (ops/metrics.ts): the sampler's and the
 * reconciler's counters. Asking twice (the sampler and the loop of one gateway) gives the same objects.
 */
import type { Counter } from 'prom-client';
import { counter } from '../metrics.ts';
import type { Metrics } from '../metrics.ts';

export interface ParityMetrics {
  /** Samples recorded from sampled online requests: one per (view, entity) read or on-demand row computed. */
  readonly taken: Counter;
  /** Samples never written: `buffer_full`, `write_failed`, or `error` (the value was an ERROR: nothing to compare). */
  readonly dropped: Counter<'reason'>;
  /** Samples written to the offline store. */
  readonly written: Counter;
  /** Verdicts this process wrote, per view, feature and outcome. */
  readonly outcomes: Counter<'view' | 'feature' | 'outcome'>;
}

export function parityMetrics(metrics: Metrics): ParityMetrics {
  return {
    taken: counter(metrics, { name: 'skewless_parity_samples_taken_total', help: 'Online answers sampled for parity: one per (view, entity) read or on-demand row computed.' }),
    dropped: counter(metrics, {
      name: 'skewless_parity_samples_dropped_total',
      help: 'Parity samples never written, by reason: buffer_full, write_failed, error (an ERROR value, nothing to compare).',
      labelNames: ['reason'],
    }),
    written: counter(metrics, { name: 'skewless_parity_samples_written_total', help: 'Parity samples written to the offline store.' }),
    outcomes: counter(metrics, {
      name: 'skewless_parity_outcomes_total',
      help: 'Parity verdicts written by this process: MATCH, MISMATCH, MISSING_ONLINE, MISSING_OFFLINE, SKIPPED.',
      labelNames: ['view', 'feature', 'outcome'],
    }),
  };
}
