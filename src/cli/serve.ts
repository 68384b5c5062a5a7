/**
 * `skewless serve`: load and validate the registry, open the stores, build the schema, seed the demo
 * data when asked (by default on embedded stores: see src/demo/), listen. A broken schema never starts a
 * half-working server: serve refuses with the full validation report.
 */
import { startGatewayAuth } from '../auth/gateway-auth.ts';
import type { Config } from '../config/config.ts';
import { redactUrl } from '../config/config.ts';
import { seedDemo } from '../demo/seed.ts';
import { requestLimitsOf } from '../graphql/limits/options.ts';
import { loadTrustedDocuments } from '../graphql/limits/trusted-documents.ts';
import { buildSchema } from '../graphql/schema.ts';
import type { Logger } from '../ops/log.ts';
import { FreshnessMonitor } from '../ops/freshness-monitor.ts';
import { KafkaLag } from '../ops/lag.ts';
import { createMetrics } from '../ops/metrics.ts';
import { transformMetrics } from '../ops/transform-metrics.ts';
import { startParity } from '../ops/parity/start.ts';
import { qualityOptions } from '../ops/quality/options.ts';
import { createQualityRefresher } from '../ops/quality/refresher.ts';
import { loadRegistry } from '../registry/load.ts';
import { EXAMPLE_QUERY, createGateway } from '../server/gateway.ts';
import { closeStores, openStores } from '../stores/open.ts';
import { startTransforms } from '../transforms/start.ts';
import { problemReport, summarize } from './validate.ts';

export async function serveCommand(config: Config, logger: Logger, err: (text: string) => void): Promise<number> {
  const result = await loadRegistry(config);
  if (!result.ok) {
    err(`skewless: refusing to serve: the schema has problems\n${problemReport(result.problems)}`);
    return 1;
  }
  const schema = buildSchema(result.registry, { quality: qualityOptions(config) });
  // Before anything starts: a trusted-documents list that cannot be read or does not check out stops the
  // start (docs/limits.md).
  const trustedDocuments = config.trustedDocuments === undefined ? undefined : await loadTrustedDocuments(config.trustedDocuments);
  // Before any store opens: a key file, policy or JWKS that cannot be read stops the start (docs/security.md).
  const auth = await startGatewayAuth(config.auth, result.registry, logger);
  const stores = await openStores(config);
  try {
    await stores.offline.ensureSchema(result.registry);
  } catch (error) {
    await closeStores(stores);
    err(`skewless: cannot prepare the offline store: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  // One registry for the process, made before anything that records into it (docs/metrics.md).
  const metrics = createMetrics();
  let transforms;
  try {
    // Every transform is compiled into every isolate now, so a broken one stops the start, not a request.
    transforms = await startTransforms(result.registry, { size: config.transformPoolSize, memoryMb: config.transformMemoryMb, timeoutMs: config.transformTimeoutMs, observer: transformMetrics(metrics) });
  } catch (error) {
    await closeStores(stores);
    err(`skewless: cannot load the transforms: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (config.demo) {
    try {
      // Before listening, so the first query already sees a month of data (logged as demo.seeded).
      await seedDemo(result.registry, stores, { bounds: { allowedLatenessMs: config.allowedLatenessMs, maxFutureSkewMs: config.maxFutureSkewMs } }, logger);
    } catch (error) {
      await transforms?.close();
      await closeStores(stores);
      err(`skewless: cannot seed the demo data: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  }
  const limits = { maxEntities: config.maxEntities, maxPushRows: config.maxPushRows, maxHistoricalRows: config.maxHistoricalRows, entitySqlTimeoutMs: config.entitySqlTimeoutMs };
  // Lag needs Kafka; freshness without it is the age of each view's newest value alone.
  const lag = config.kafkaBrokers === undefined ? undefined : new KafkaLag(config.kafkaBrokers, stores.offline, config.consumerGroup);
  const freshness = new FreshnessMonitor(result.registry, stores.offline, { intervalMs: config.freshnessIntervalMs, lag, metrics, logger });
  // Continuous parity (docs/parity.md): a sampler for the request contexts, a reconciliation loop off the read path.
  const parity = await startParity(config, { registry: result.registry, stores, transforms, metrics, logger });
  const gateway = createGateway({ registry: result.registry, schema, stores, limits, logger, transforms, exampleQuery: EXAMPLE_QUERY, metrics, freshness, parity: parity.sampler, auth,
    requestLimits: requestLimitsOf(config), trustedDocuments, maskErrors: config.maskErrors,
  });
  let url: string;
  try {
    url = await gateway.listen(config.port, config.host);
  } catch (error) {
    await parity.close();
    await transforms?.close();
    await closeStores(stores);
    err(`skewless: cannot listen on ${config.host}:${config.port}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  logger.info('listening', {
    url,
    registry: summarize(result.registry),
    onlineStore: config.redisUrl === undefined ? 'memory (embedded)' : redactUrl(config.redisUrl),
    offlineStore: config.databaseUrl === undefined ? `pglite (embedded${config.pgliteDir === undefined ? ', in memory' : `, ${config.pgliteDir}`})` : redactUrl(config.databaseUrl),
  });

  // Data-quality gauges, refreshed off the read path (docs/data-quality.md); first run now.
  const quality =
    config.qualityIntervalMs > 0
      ? createQualityRefresher({ registry: result.registry, offline: stores.offline, options: qualityOptions(config), metrics, logger, intervalMs: config.qualityIntervalMs })
      : undefined;
  quality?.start();

  // Stop on SIGINT/SIGTERM: finish in-flight requests, close stores, exit 0.
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('stopping', { signal });
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await gateway.close();
  auth.close();
  await parity.close();
  await lag?.close();
  await quality?.stop();
  await transforms?.close();
  await closeStores(stores);
  return 0;
}
