/**
 * The materializer process: a kafkajs consumer group over every topic the registry routes, around the
 * pure decode → plan and the exactly-once commit. Kafka's own committed offsets are only a hint for
 * where to fetch from; the truth is in PostgreSQL (commit.ts), so a batch redelivered after a crash or a
 * rebalance is recognised and skipped there.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { SkewlessError } from '../errors.ts';
import type { Logger } from '../ops/log.ts';
import type { Registry } from '../registry/registry.ts';
import type { Stores } from '../stores/open.ts';
import { DEFAULT_TIME_BOUNDS } from './batch.ts';
import type { TimeBounds } from './batch.ts';
import { commitBatch, flushOutbox } from './commit.ts';
import type { CommitResult } from './commit.ts';
import { decodeMessage, topicRoutes } from './decode.ts';
import type { RawMessage } from './decode.ts';

export interface MaterializerOptions {
  readonly brokers: readonly string[];
  /** Consumer group; also the key offsets are stored under in PostgreSQL. Default `skewless-materializer`. */
  readonly groupId: string;
  /** How long Kafka waits for a silent member before reassigning its partitions, ms. Default 30000. */
  readonly sessionTimeoutMs?: number;
  readonly bounds?: TimeBounds;
  /** Start of a topic the group has never read: the earliest message (default) or only new ones. */
  readonly fromBeginning?: boolean;
  /** Called after each committed batch: for metrics and tests. */
  readonly onBatch?: (result: CommitResult) => void;
}

export interface Materializer {
  /** Resolves once the group has joined and consumption has started. */
  readonly started: Promise<void>;
  stop(): Promise<void>;
}

export async function startMaterializer(registry: Registry, stores: Stores, options: MaterializerOptions, logger: Logger): Promise<Materializer> {
  const routes = topicRoutes(registry);
  const bounds = options.bounds ?? DEFAULT_TIME_BOUNDS;
  await stores.offline.ensureSchema(registry);
  // Whatever a previous run committed but did not get online is made good before anything new.
  const owed = await flushOutbox(registry, stores);
  if (owed > 0) logger.info('materializer.outbox_flushed', { entries: owed });

  const kafka = new Kafka({ clientId: 'skewless-materializer', brokers: [...options.brokers], logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false, sessionTimeout: options.sessionTimeoutMs ?? 30_000, heartbeatInterval: Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)) });
  await consumer.connect();
  await consumer.subscribe({ topics: [...routes.keys()], fromBeginning: options.fromBeginning ?? true });

  let owedOnline = false;
  const tryFlush = async (): Promise<boolean> => {
    try {
      await flushOutbox(registry, stores);
      return true;
    } catch (error) {
      logger.warn('materializer.online_behind', { message: (error as Error).message });
      return false;
    }
  };

  const handle = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const route = routes.get(batch.topic)!;
    const messages: RawMessage[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: Number(m.offset),
      value: m.value === null ? null : m.value.toString('utf8'),
      timestampMs: Number(m.timestamp),
    }));
    const decoded = messages.map((m) => decodeMessage(registry, route, m));
    if (owedOnline) owedOnline = !(await tryFlush());
    let result: CommitResult;
    try {
      result = await commitBatch(registry, stores, options.groupId, messages, decoded, bounds);
    } catch (error) {
      if (!(error instanceof SkewlessError && error.code === 'ONLINE_STORE_UNAVAILABLE')) throw error;
      // Committed offline; consumption goes on, and the outbox is flushed before the next batch.
      logger.warn('materializer.online_behind', { message: error.message });
      owedOnline = true;
      resolveOffset(batch.lastOffset());
      return;
    }
    // Kafka's offset follows PostgreSQL's, never leads it.
    resolveOffset(batch.lastOffset());
    await heartbeat();
    if (result.dead.length > 0) logger.warn('materializer.dead_letters', { topic: batch.topic, partition: batch.partition, count: result.dead.length, reasons: [...new Set(result.dead.map((d) => d.reason))] });
    options.onBatch?.(result);
  };

  let resolveStarted!: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => resolveStarted());
  await consumer.run({ eachBatchAutoResolve: false, autoCommit: true, eachBatch: handle });
  return {
    started,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}
