/**
 * Prometheus metrics (prom-client). One registry per process, made at start-up and handed to whatever
 * records: a gateway and a materializer each expose their own at `/metrics`. Metrics are created once
 * here (or by the module that owns them, against `metrics.registry`), never per request.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

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
