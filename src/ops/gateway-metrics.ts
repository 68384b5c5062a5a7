/**
 * The gateway's metrics, registered once when the gateway is created: GraphQL requests and their latency
 * by operation, online store round trips, DataLoader batch sizes and historical query durations.
 * (Transforms record theirs in transform-metrics.ts, freshness in freshness-monitor.ts.) Names, types and
 * labels are listed in docs/metrics.md.
 */
import type { Counter, Histogram } from 'prom-client';
import { LATENCY_BUCKETS, SIZE_BUCKETS, counter, histogram } from './metrics.ts';
import type { Metrics } from './metrics.ts';

export type RequestOutcome = 'ok' | 'error' | 'invalid';

export interface GatewayMetrics {
  readonly requests: Counter<'operation' | 'type' | 'outcome'>;
  readonly requestSeconds: Histogram<'operation' | 'type' | 'outcome'>;
  readonly storeRoundTrips: Counter<'store'>;
  readonly storeErrors: Counter<'store' | 'code'>;
  readonly storeSeconds: Histogram<'store'>;
  readonly batchKeys: Histogram<'loader'>;
  readonly historicalSeconds: Histogram<'route' | 'outcome'>;
  /** Operation names as labels, bounded: see OperationLabels. */
  readonly operations: OperationLabels;
}

export function gatewayMetrics(metrics: Metrics): GatewayMetrics {
  return {
    requests: counter(metrics, {
      name: 'skewless_graphql_requests_total',
      help: 'GraphQL requests answered, by operation name, operation type and outcome (ok, error: executed with errors, invalid: not executed).',
      labelNames: ['operation', 'type', 'outcome'],
    }),
    requestSeconds: histogram(metrics, {
      name: 'skewless_graphql_request_duration_seconds',
      help: 'Time from a GraphQL request arriving to its result being ready to send, by operation name, type and outcome.',
      labelNames: ['operation', 'type', 'outcome'],
      buckets: LATENCY_BUCKETS,
    }),
    storeRoundTrips: counter(metrics, {
      name: 'skewless_online_store_round_trips_total',
      help: 'Online store read calls (one round trip each), by store kind.',
      labelNames: ['store'],
    }),
    storeErrors: counter(metrics, {
      name: 'skewless_online_store_errors_total',
      help: 'Online store read errors, by store kind and error code: one per key that could not be read.',
      labelNames: ['store', 'code'],
    }),
    storeSeconds: histogram(metrics, {
      name: 'skewless_online_store_read_duration_seconds',
      help: 'Duration of one online store read call, by store kind.',
      labelNames: ['store'],
      buckets: LATENCY_BUCKETS,
    }),
    batchKeys: histogram(metrics, {
      name: 'skewless_dataloader_batch_size',
      help: 'Keys per DataLoader batch, i.e. per store call, by loader.',
      labelNames: ['loader'],
      buckets: SIZE_BUCKETS,
    }),
    historicalSeconds: histogram(metrics, {
      name: 'skewless_historical_query_duration_seconds',
      help: 'Duration of historical retrieval, by route (graphql: an operation selecting historicalFeatures; export: /historical/export) and outcome.',
      labelNames: ['route', 'outcome'],
      buckets: LATENCY_BUCKETS,
    }),
    operations: new OperationLabels(),
  };
}

/** Most distinct operation names one gateway labels; later ones are counted as `other`. */
export const MAX_OPERATION_LABELS = 200;

/** Longest operation name kept as a label; longer ones are cut. */
export const MAX_OPERATION_NAME = 64;

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * Operation names are chosen by clients, so as labels they are bounded: each series costs memory in this
 * process and in Prometheus for as long as both run. A name that is not a GraphQL name (a parse failure's
 * `operationName`) is `anonymous`, like an operation without one; past MAX_OPERATION_LABELS distinct
 * names, new ones are `other`.
 */
export class OperationLabels {
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max = MAX_OPERATION_LABELS) {
    this.#max = max;
  }

  label(name: string | null | undefined): string {
    if (name === null || name === undefined || !GRAPHQL_NAME.test(name)) return 'anonymous';
    const cut = name.slice(0, MAX_OPERATION_NAME);
    if (this.#seen.has(cut)) return cut;
    if (this.#seen.size >= this.#max) return 'other';
    this.#seen.add(cut);
    return cut;
  }
}
