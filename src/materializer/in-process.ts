/**
 * The in-process event source: Kafka's place taken by an in-memory log, for the embedded demo and for
 * tests and tools that need events without a broker. Messages are produced to the topics the registry
 * routes (every `@source` topic and every row view's `topic`), partitioned by key and given increasing
 * offsets, and consumed through exactly the materializer's path: `decodeMessage`, then `commitBatch` per
 * batch of one partition's messages. So offsets, the raw-event archive, aggregation tiles, row history,
 * dead letters and online values are written by the one commit, exactly once, as under Kafka: a message
 * consumed twice (a second replay of the same positions) is recognised by its stored offset and skipped.
 *
 * The log itself is not durable: what was produced and not yet drained is gone at exit, as a producer's
 * unsent buffer is. What was committed is in the offline store, and offsets continue after it when the
 * source is opened again on the same store.
 */
import { SkewlessError } from '../errors.ts';
import { murmur3 } from '../features/aggregate/hash.ts';
import type { Logger } from '../ops/log.ts';
import type { Registry } from '../registry/registry.ts';
import type { Stores } from '../stores/open.ts';
import { OFFSETS } from '../stores/sql/materializer-tables.ts';
import { DEFAULT_TIME_BOUNDS, groupBy, partitionId } from './batch.ts';
import type { TimeBounds } from './batch.ts';
import { commitBatch, flushOutbox } from './commit.ts';
import { PieceCache } from './piece-cache.ts';
import { tryFlushOutbox } from './online-sync.ts';
import type { CommitResult } from './commit.ts';
import { decodeMessage, topicRoutes } from './decode.ts';
import type { RawMessage, Route } from './decode.ts';

export interface InProcessOptions {
  /**
   * The name offsets are stored under in `skewless.consumer_offsets`. Default `skewless-in-process`.
   * Never the Kafka consumer group's: its offsets would make a Kafka materializer on the same database
   * skip real messages at the positions an in-process replay used.
   */
  readonly group?: string;
  /** Partitions of every topic; a keyed message goes to a partition chosen by its key. Default 4. */
  readonly partitions?: number;
  /** Most messages per committed batch (each batch is one partition's, as a Kafka fetch is). Default 5000. */
  readonly batchSize?: number;
  /** Lateness and skew bounds, judged against each message's timestamp. Default 1d and 1m. */
  readonly bounds?: TimeBounds;
  /** Called after each committed batch, with what it wrote. */
  readonly onBatch?: (result: CommitResult) => void;
  /** Rows remembered as committed between batches (piece-cache.ts). Default: a new cache per call, or the source's. */
  readonly cache?: PieceCache;
}

export const DEFAULT_IN_PROCESS_GROUP = 'skewless-in-process';
const DEFAULT_PARTITIONS = 4;
const DEFAULT_BATCH_SIZE = 5000;

export interface ProducedMessage {
  readonly topic: string;
  /** Partition key, normally the entity key: one key's messages share a partition, in order, as under Kafka. Unkeyed messages go round-robin. */
  readonly key?: string;
  /** The message value: JSON text, or a value to serialise as JSON; null is an empty message (dead-lettered). */
  readonly value: unknown;
  /** The message timestamp, epoch ms: lateness and skew are judged against it, never the clock. */
  readonly timestampMs: number;
}

export interface ConsumeSummary {
  readonly batches: number;
  readonly messages: number;
  /** Raw events archived and folded into tiles. */
  readonly events: number;
  /** Row-view rows appended to history. */
  readonly rows: number;
  readonly deadLetters: number;
  /** Messages already committed by an earlier consumption, skipped. */
  readonly skipped: number;
  readonly onlineWrites: number;
  /**
   * True when online writes are still owed at the end: everything is committed offline and the outbox
   * holds what the online store misses, flushed by the next consumption or the next open. (A batch whose
   * online write failed counts in `batches` and `messages` only: the commit reports nothing more then.)
   */
  readonly onlineBehind: boolean;
}

export interface InProcessEventSource {
  readonly group: string;
  /** Appends a message to its topic's partition and returns it with its position. Refuses a topic nothing reads. */
  produce(message: ProducedMessage): RawMessage;
  /** Messages produced and not yet consumed. */
  readonly pending: number;
  /**
   * Consumes everything produced before it starts and commits it; resolves when all of it is committed.
   * If a commit fails, the messages stay pending and a later drain tries them again (committed ones skipped).
   */
  drain(): Promise<ConsumeSummary>;
}

/**
 * Opens the source on stores: prepares the offline store's tables, makes good any online write a previous
 * run still owed (as the Kafka materializer does at start), and continues each partition's offsets after
 * what this group has committed.
 */
export async function openInProcessSource(registry: Registry, stores: Stores, options: InProcessOptions = {}, logger?: Logger): Promise<InProcessEventSource> {
  const group = options.group ?? DEFAULT_IN_PROCESS_GROUP;
  const cache = options.cache ?? new PieceCache();
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  const routes = topicRoutes(registry);
  await stores.offline.ensureSchema(registry);
  const owed = await flushOutbox(registry, stores);
  if (owed > 0) logger?.info('materializer.outbox_flushed', { entries: owed, group });
  const ends = await committedOffsets(stores, group);

  let log: RawMessage[] = [];
  const roundRobin = new Map<string, number>();
  let draining: Promise<unknown> = Promise.resolve();

  return {
    group,
    get pending() {
      return log.length;
    },
    produce(message) {
      if (!routes.has(message.topic)) {
        throw new SkewlessError('UNKNOWN_TOPIC', `no source or row view reads topic "${message.topic}"; topics read: ${[...routes.keys()].join(', ') || 'none'}`);
      }
      let partition: number;
      if (message.key === undefined) {
        partition = roundRobin.get(message.topic) ?? 0;
        roundRobin.set(message.topic, (partition + 1) % partitions);
      } else partition = murmur3(message.key, 0) % partitions;
      const id = partitionId({ topic: message.topic, partition });
      const offset = ends.get(id) ?? 0;
      ends.set(id, offset + 1);
      const value = message.value === null ? null : typeof message.value === 'string' ? message.value : JSON.stringify(message.value);
      const raw: RawMessage = { topic: message.topic, partition, offset, value, timestampMs: message.timestampMs };
      log.push(raw);
      return raw;
    },
    drain() {
      // One drain at a time, in the order asked: a second waits for the first, as one consumer would.
      const run = draining.then(async () => {
        const batch = log;
        log = [];
        try {
          return await consumeMessages(registry, stores, batch, { ...options, group, cache }, logger);
        } catch (error) {
          // Back in the log, as a consumer would fetch them again: what did commit is skipped next time.
          log = [...batch, ...log];
          throw error;
        }
      });
      draining = run.catch(() => undefined);
      return run;
    },
  };
}

/**
 * Consumes messages whose positions are already fixed (a replay): grouped by partition, in offset order,
 * `batchSize` at a time, each batch decoded and committed exactly as the Kafka consumer does. Messages
 * at or past a position already committed for `group` are skipped by the commit, so replaying the same
 * messages twice counts them once.
 */
export async function consumeMessages(registry: Registry, stores: Stores, messages: readonly RawMessage[], options: InProcessOptions = {}, logger?: Logger): Promise<ConsumeSummary> {
  const group = options.group ?? DEFAULT_IN_PROCESS_GROUP;
  const cache = options.cache ?? new PieceCache();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const bounds = options.bounds ?? DEFAULT_TIME_BOUNDS;
  const routes = topicRoutes(registry);
  const total = { batches: 0, messages: 0, events: 0, rows: 0, deadLetters: 0, skipped: 0, onlineWrites: 0 };
  let owedOnline = false;

  const tryFlush = () => tryFlushOutbox(registry, stores, (message) => logger?.warn('materializer.online_behind', { group, message }));

  for (const list of groupBy(messages, partitionId).values()) {
    const sorted = [...list].sort((a, b) => a.offset - b.offset);
    const route: Route | undefined = routes.get(sorted[0]!.topic);
    if (route === undefined) throw new SkewlessError('UNKNOWN_TOPIC', `no source or row view reads topic "${sorted[0]!.topic}"`);
    for (let start = 0; start < sorted.length; start += batchSize) {
      const chunk = sorted.slice(start, start + batchSize);
      const decoded = chunk.map((m) => decodeMessage(registry, route, m));
      if (owedOnline) owedOnline = !(await tryFlush());
      total.batches++;
      total.messages += chunk.length;
      let result: CommitResult;
      try {
        result = await commitBatch(registry, stores, group, chunk, decoded, bounds, Date.now(), cache);
      } catch (error) {
        if (!(error instanceof SkewlessError && error.code === 'ONLINE_STORE_UNAVAILABLE')) throw error;
        // Committed offline; the outbox keeps what is owed online, flushed before the next batch.
        logger?.warn('materializer.online_behind', { group, message: error.message });
        owedOnline = true;
        continue;
      }
      total.events += [...result.events.values()].reduce((n, events) => n + events.length, 0);
      total.rows += [...result.rows.values()].reduce((n, rows) => n + rows.length, 0);
      total.deadLetters += result.dead.length;
      total.skipped += result.skipped;
      total.onlineWrites += result.onlineWrites;
      if (result.dead.length > 0) logger?.warn('materializer.dead_letters', { topic: chunk[0]!.topic, partition: chunk[0]!.partition, count: result.dead.length, reasons: [...new Set(result.dead.map((d) => d.reason))] });
      options.onBatch?.(result);
    }
  }
  if (owedOnline) owedOnline = !(await tryFlush());
  return { ...total, onlineBehind: owedOnline };
}

/** The offsets `group` has committed in the offline store: `topic/partition` → the next offset to consume. */
export async function committedOffsets(stores: Stores, group: string): Promise<Map<string, number>> {
  const rows = await stores.offline.query<{ topic: string; partition: number; next_offset: string | number }>(`select topic, partition, next_offset from ${OFFSETS} where group_id = $1`, [group]);
  return new Map(rows.map((r) => [partitionId(r), Number(r.next_offset)]));
}
