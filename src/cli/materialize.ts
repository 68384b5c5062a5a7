/**
 * `skewless materialize`: the Kafka consumer group that computes features once and writes both stores.
 * Runs until SIGINT or SIGTERM, then leaves the group cleanly (a kill -9 is safe too: see commit.ts).
 */
import type { Config } from '../config/config.ts';
import { startMaterializer } from '../materializer/consumer.ts';
import type { Logger } from '../ops/log.ts';
import { loadRegistry } from '../registry/load.ts';
import { closeStores, openStores } from '../stores/open.ts';
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
  const stores = await openStores(config);
  const bounds = { allowedLatenessMs: config.allowedLatenessMs, maxFutureSkewMs: config.maxFutureSkewMs };
  const materializer = await startMaterializer(result.registry, stores, { brokers: config.kafkaBrokers, groupId: config.consumerGroup, sessionTimeoutMs: config.kafkaSessionTimeoutMs, bounds }, logger);
  await materializer.started;
  logger.info('materializer.started', { group: config.consumerGroup, brokers: config.kafkaBrokers });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await materializer.stop();
  await closeStores(stores);
  return 0;
}
