/**
 * `skewless materialize`: the Kafka consumer group that computes features once and writes both stores.
 * Runs until SIGINT or SIGTERM, then leaves the group cleanly (a kill -9 is safe too: see commit.ts).
 *
 * It serves /metrics and /healthz on --metrics-port (docs/metrics.md): throughput, commits, dead letters
 * and lag per partition, read at start (the backlog it begins with) and every --freshness-interval.
 * A port that cannot be bound is logged and the materializer runs on without it: metrics are not a
 * reason to stop computing features.
 */
import type { Config } from '../config/config.ts';
import { startMaterializer } from '../materializer/consumer.ts';
import { topicRoutes } from '../materializer/decode.ts';
import { KafkaLag } from '../ops/lag.ts';
import { lagMonitor } from '../ops/lag-monitor.ts';
import type { Logger } from '../ops/log.ts';
import { materializerMetrics } from '../ops/materializer-metrics.ts';
import { createMetrics } from '../ops/metrics.ts';
import type { Metrics } from '../ops/metrics.ts';
import { startMetricsServer } from '../ops/metrics-server.ts';
import type { MetricsServer } from '../ops/metrics-server.ts';
import { loadRegistry } from '../registry/load.ts';
import { closeStores, openWriterStores } from '../stores/open.ts';
import { problemReport } from './validate.ts';

export async function materializeCommand(config: Config, logger: Logger, err: (text: string) => void): Promise<number> {
  if (config.kafkaBrokers === undefined) {
    err('skewless materialize: no Kafka brokers: set --kafka-brokers or KAFKA_BROKERS (the embedded demo replays events in-process instead)');
    return 2;
  }
  const result = await loadRegistry(config);
  if (!result.ok) {
    err(`skewless: refusing to materialize: the schema has problems\n${problemReport(result.problems)}`);
    return 1;
  }
  const metrics = createMetrics();
  const server = await serveMetrics(config, metrics, logger);
  const stores = await openWriterStores(config);
  // The offsets table must exist before lag is read; startMaterializer makes the same (idempotent) call.
  await stores.offline.ensureSchema(result.registry);
  const lag = new KafkaLag(config.kafkaBrokers, stores.offline, config.consumerGroup);
  const lagReadings = lagMonitor(lag, [...topicRoutes(result.registry).keys()], metrics, config.freshnessIntervalMs, logger);
  // Before consuming: the first reading is the backlog this run starts with.
  await lagReadings.start();
  const bounds = { allowedLatenessMs: config.allowedLatenessMs, maxFutureSkewMs: config.maxFutureSkewMs };
  const observer = materializerMetrics(metrics, logger);
  const materializer = await startMaterializer(result.registry, stores, { brokers: config.kafkaBrokers, groupId: config.consumerGroup, sessionTimeoutMs: config.kafkaSessionTimeoutMs, pieceCacheRows: config.pieceCacheRows, bounds, observer }, logger);
  await materializer.started;
  logger.info('materializer.started', { group: config.consumerGroup, brokers: config.kafkaBrokers });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  lagReadings.stop();
  await materializer.stop();
  await lag.close();
  await server?.close();
  await closeStores(stores);
  return 0;
}

/** The metrics server, unless --metrics-port is off or its port is taken (logged either way). */
async function serveMetrics(config: Config, metrics: Metrics, logger: Logger): Promise<MetricsServer | undefined> {
  if (config.metricsPort === undefined) return undefined;
  try {
    const server = await startMetricsServer(metrics, config.metricsPort, config.host);
    logger.info('materializer.metrics', { url: `${server.url}/metrics` });
    return server;
  } catch (error) {
    logger.error('materializer.metrics_unavailable', { port: config.metricsPort, host: config.host, error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}
