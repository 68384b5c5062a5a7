/**
 * `skewless serve`: load and validate the registry, open the stores, build the schema, seed the demo
 * data when asked (by default on embedded stores: see src/demo/), listen. A broken schema never starts a
 * half-working server: serve refuses with the full validation report.
 */
import type { Config } from '../config/config.ts';
import { redactUrl } from '../config/config.ts';
import { seedDemo } from '../demo/seed.ts';
import { buildSchema } from '../graphql/schema.ts';
import type { Logger } from '../ops/log.ts';
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
  const schema = buildSchema(result.registry);
  const stores = await openStores(config);
  try {
    await stores.offline.ensureSchema(result.registry);
  } catch (error) {
    await closeStores(stores);
    err(`skewless: cannot prepare the offline store: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  let transforms;
  try {
    // Every transform is compiled into every isolate now, so a broken one stops the start, not a request.
    transforms = await startTransforms(result.registry, { size: config.transformPoolSize, memoryMb: config.transformMemoryMb, timeoutMs: config.transformTimeoutMs });
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
  const gateway = createGateway({ registry: result.registry, schema, stores, limits, logger, transforms, exampleQuery: EXAMPLE_QUERY });
  let url: string;
  try {
    url = await gateway.listen(config.port, config.host);
  } catch (error) {
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
  await transforms?.close();
  await closeStores(stores);
  return 0;
}
