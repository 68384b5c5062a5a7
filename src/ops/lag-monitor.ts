/**
 * The materializer's lag, read at start and then every interval (never per message): the gauge
 * skewless_materializer_lag_messages{topic, partition}, plus when it was last read. Each reading also
 * writes a debug line with the total, so the backlog a materializer starts with is on its log.
 */
import type { Gauge } from 'prom-client';
import type { KafkaLag, PartitionLag } from './lag.ts';
import type { Logger } from './log.ts';
import { counter, gauge } from './metrics.ts';
import type { Metrics } from './metrics.ts';
import { periodic } from './periodic.ts';
import type { Periodic } from './periodic.ts';

export function lagMonitor(lag: KafkaLag, topics: readonly string[], metrics: Metrics, intervalMs: number, logger: Logger): Periodic {
  const messages: Gauge<'topic' | 'partition'> = gauge(metrics, {
    name: 'skewless_materializer_lag_messages',
    help: 'Messages of a partition not yet committed by this consumer group: Kafka end offset minus the next offset stored in PostgreSQL.',
    labelNames: ['topic', 'partition'],
  });
  const checked = gauge(metrics, {
    name: 'skewless_materializer_lag_checked_timestamp_seconds',
    help: 'When materializer lag was last read successfully, seconds since the epoch.',
  });
  const failures = counter(metrics, {
    name: 'skewless_materializer_lag_check_failures_total',
    help: 'Lag readings that failed (Kafka or PostgreSQL did not answer).',
  });
  const record = (lags: readonly PartitionLag[]) => {
    // Reset first: a partition that went away (topic deleted) must not keep its last value.
    messages.reset();
    for (const l of lags) messages.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
    checked.set(Date.now() / 1000);
    logger.debug('materializer.lag', { total: lags.reduce((n, l) => n + l.lag, 0), partitions: lags.length });
  };
  return periodic(
    async () => record(await lag.read(topics)),
    intervalMs,
    (error) => {
      failures.inc();
      logger.warn('materializer.lag_unavailable', { error: error instanceof Error ? error.message : String(error) });
    },
  );
}
