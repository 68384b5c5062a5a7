/**
 * Prometheus metrics (prom-client). One registry per process, made at start-up and handed to whatever
 * records: a gateway and a materializer each expose their own at `/metrics`. Metrics are created once
 * here (or by the module that owns them, against `metrics.registry`), never per request. docs/metrics.md
 * lists every metric.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration, Metric } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** The exposition text and its content type, for a `/metrics` response. */
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

export function createMetrics(options: { readonly defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  // Process metrics (RSS, heap, event-loop lag, GC): what a soak or an incident is read against.
  if (options.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'skewless_' });
  return {
    registry,
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/** Latency buckets, seconds: 0.5 ms (an in-memory read) to 30 s (a large historical query). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Size buckets (keys in a batch, messages in a commit): powers of four from 1 to 65536. */
export const SIZE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536];

// Two components of one process (two gateways in a test, a gateway and its sandbox) may ask for the same
// metric: the second gets the first's object, since prom-client refuses a name registered twice.
function registered<M extends Metric<string>>(metrics: Metrics, name: string, make: () => M): M {
  return (metrics.registry.getSingleMetric(name) as M | undefined) ?? make();
}

export function counter<T extends string>(metrics: Metrics, config: Omit<CounterConfiguration<T>, 'registers'>): Counter<T> {
  return registered(metrics, config.name, () => new Counter({ ...config, registers: [metrics.registry] }));
}

export function histogram<T extends string>(metrics: Metrics, config: Omit<HistogramConfiguration<T>, 'registers'>): Histogram<T> {
  return registered(metrics, config.name, () => new Histogram({ ...config, registers: [metrics.registry] }));
}

export function gauge<T extends string>(metrics: Metrics, config: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T> {
  return registered(metrics, config.name, () => new Gauge({ ...config, registers: [metrics.registry] }));
}
