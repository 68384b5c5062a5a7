/**
 * The materializer process: a kafkajs consumer group over every topic the registry routes, around the
 * pure decode → plan and the exactly-once commit. Kafka's own committed offsets are only a hint for
 * where to fetch from; the truth is in PostgreSQL (commit.ts), so a batch redelivered after a crash or a
 * rebalance is recognised and skipped there.
 *
 * Fetching runs ahead of committing by at most one commit's worth of messages: the next batches are
 * fetched and decoded while PostgreSQL commits. Kafka's offsets are written only after PostgreSQL's
 * (so a restart or a new owner of a partition starts at or before what is committed, never after), and a
 * failed commit sends the fetch position of its partitions back to where its batches began.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { kafkaClient } from '../ops/kafka-client.ts';
import type { Logger } from '../ops/log.ts';
import type { Registry } from '../registry/registry.ts';
import type { Stores } from '../stores/open.ts';
import { DEFAULT_TIME_BOUNDS } from './batch.ts';
import type { TimeBounds } from './batch.ts';
import { commitOffline, flushOutbox } from './commit.ts';
import type { CommitResult } from './commit.ts';
import { decodeMessage, topicRoutes } from './decode.ts';
import type { Decoded, RawMessage } from './decode.ts';
import { groupCommitter } from './group-commit.ts';
import { onlineWrites } from './online-hold.ts';
import { DEFAULT_PIECE_CACHE_ROWS, PieceCache } from './piece-cache.ts';
import { SLICE_PRUNE_EVERY_MS, pruneSlices } from './slice-retention.ts';
import { retireSortedSetsInBackground } from './sorted-set-retirement.ts';
import { tryFlushOutbox, writeOnline } from './online-sync.ts';
import type { Owed } from './online-sync.ts';

/** Partitions whose batches are handled at once: what group commit gathers into one transaction. */
const PARTITIONS_CONCURRENTLY = 8;
/** Largest group commit, in messages: bounds a transaction's time (and so the wait of the batches in it). */
const MAX_MESSAGES_PER_COMMIT = 20_000;
/**
 * How often a running materializer makes good what other commits owe online and have owed for at least
 * OUTBOX_STALE_MS: commits of a process killed between its commit and its online write (one that may never
 * restart). A live commit's own write takes well under a second; making it good twice is harmless.
 */
export const OUTBOX_SWEEP_EVERY_MS = 10_000;
export const OUTBOX_STALE_MS = 30_000;
/**
 * How long, at most, a commit's online write waits for the next commit to plan its merges: that commit may
 * wait on a lock first (a backfill's reset, a schema upgrade), and the values it holds back meanwhile would
 * go stale online.
 */
export const ONLINE_HOLD_MAX_MS = 1000;
/** Fetch size per partition: about 25k messages of ~150 bytes, so a busy partition fills a commit. */
const MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;

export interface MaterializerOptions {
  readonly brokers: readonly string[];
  /** Consumer group; also the key offsets are stored under in PostgreSQL. Default `skewless-materializer`. */
  readonly groupId: string;
  /** How long Kafka waits for a silent member before reassigning its partitions, ms. Default 30000. */
  readonly sessionTimeoutMs?: number;
  readonly bounds?: TimeBounds;
  /** Start of a topic the group has never read: the earliest message (default) or only new ones. */
  readonly fromBeginning?: boolean;
  /** Tile and slice rows remembered as committed, so merges into them need no read (piece-cache.ts). Default DEFAULT_PIECE_CACHE_ROWS; 0: off. */
  readonly pieceCacheRows?: number;
  /** Called after each commit (batches of several partitions, see group-commit.ts): for metrics and tests. */
  readonly onBatch?: (result: CommitResult) => void;
  /** Told of every batch fetched and every commit's outcome, for metrics (ops/materializer-metrics.ts). */
  readonly observer?: MaterializerObserver;
}

/** What the consumer reports as it goes; called after the fact, never inside a transaction. */
export interface MaterializerObserver {
  /** Kafka handed over `messages` messages of one partition (before decoding). */
  fetched(topic: string, partition: number, messages: number): void;
  /** A commit is done, online writes included: what it wrote, how many messages it took, its wall time in s. */
  committed(result: CommitResult, messages: number, seconds: number): void;
  /** A commit reached PostgreSQL but not the online store: its online writes are owed (online-sync.ts). */
  onlineBehind(messages: number): void;
  /** A commit failed; its batches are fetched again and retried (fetchAgain). */
  failed(messages: number): void;
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

  const kafka = kafkaClient('skewless-materializer', options.brokers);
  const consumer: Consumer = kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false, sessionTimeout: options.sessionTimeoutMs ?? 30_000, heartbeatInterval: Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)), maxBytesPerPartition: MAX_BYTES_PER_PARTITION, maxBytes: PARTITIONS_CONCURRENTLY * MAX_BYTES_PER_PARTITION });
  await consumer.connect();
  await consumer.subscribe({ topics: [...routes.keys()], fromBeginning: options.fromBeginning ?? true });

  // This process's own view of the rows it committed; a commit that fails leaves it as it was.
  const cache = new PieceCache(options.pieceCacheRows ?? DEFAULT_PIECE_CACHE_ROWS);
  let owedOnline = false;
  const tryFlush = () => tryFlushOutbox(registry, stores, (message) => logger.warn('materializer.online_behind', { message }));

  interface Fetched {
    readonly messages: readonly RawMessage[];
    readonly decoded: readonly Decoded[];
  }
  // The last commit's online write runs on while the next commit's transaction does (they use different
  // stores, so neither waits for the other); at most one is in flight. Online writes are absolute and
  // only-if-newer, so they may land in any order, and a failed one leaves its entries in the outbox.
  // It starts once the next commit has folded its batch and planned its merges, and waits on PostgreSQL's
  // row statements: working it out during the fold would lengthen the fold, which PostgreSQL waits for.
  // It starts at once when no commit follows, when the next one ends without getting that far, and after
  // ONLINE_HOLD_MAX_MS in any case (online-hold.ts).
  const online = onlineWrites(ONLINE_HOLD_MAX_MS);
  const writeBehind = (owe: () => Promise<Owed>, done: (onlineWrites: number) => void, messages: number): Promise<void> => {
    // Worked out here, not in the transaction: this runs while the next commit waits on PostgreSQL.
    let online: Owed;
    return owe()
      .then((owed) => writeOnline(stores, (online = owed)))
      .then(
        () => done(online.rows.length + online.pieces.length),
        (error: unknown) => {
          // Committed offline; consumption goes on, and the outbox is flushed before a later commit.
          options.observer?.onlineBehind(messages);
          logger.warn('materializer.online_behind', { message: (error as Error).message });
          owedOnline = true;
        },
      );
  };

  // Slices nothing reads any more are deleted every few minutes, between commits (slice-retention.ts).
  let slicesPrunedAt = -Infinity;
  const pruneOldSlices = async () => {
    const now = Date.now();
    if (now - slicesPrunedAt < SLICE_PRUNE_EVERY_MS) return;
    slicesPrunedAt = now;
    try {
      const deleted = await pruneSlices(registry, stores.offline, now);
      if (deleted > 0) logger.info('materializer.slices_pruned', { deleted });
    } catch (error) {
      // Only disk space is at stake: the next prune tries again.
      logger.warn('materializer.slice_prune_failed', { message: (error as Error).message });
    }
  };

  // A failed commit is retried once its batches are fetched again; consecutive failures (PostgreSQL down)
  // wait longer each time instead of spinning.
  let failures = 0;

  /**
   * Every batch queued after a failed commit was fetched past it: fetch the partitions of both again from
   * their first offsets. Whatever of them did commit before is recognised and skipped (commit.ts).
   */
  const fetchAgain = (items: readonly Fetched[]) => {
    const from = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const { messages } of items) {
      const first = messages[0]!;
      const id = `${first.topic}/${first.partition}`;
      if ((from.get(id)?.offset ?? Infinity) > first.offset) from.set(id, { topic: first.topic, partition: first.partition, offset: first.offset });
    }
    for (const p of from.values()) {
      try {
        consumer.seek({ topic: p.topic, partition: p.partition, offset: String(p.offset) });
      } catch (error) {
        // Stopping: nothing is fetched any more, and the next start begins at PostgreSQL's offsets.
        logger.warn('materializer.seek_failed', { partition: `${p.topic}/${p.partition}`, message: (error as Error).message });
      }
    }
  };

  // One commit at a time; onBatch follows its online write.
  const committer = groupCommitter(async (items: Fetched[]): Promise<void> => {
    if (failures > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** (failures - 1), 5000)));
    const messages = items.flatMap((i) => i.messages);
    const decoded = items.flatMap((i) => i.decoded);
    const started = performance.now();
    let committed: Awaited<ReturnType<typeof commitOffline>>;
    try {
      if (owedOnline) owedOnline = !(await tryFlush());
      await pruneOldSlices();
      committed = await commitOffline(registry, stores, options.groupId, messages, decoded, bounds, Date.now(), cache, online.release);
    } catch (error) {
      online.release();
      failures++;
      options.observer?.failed(messages.length);
      logger.error('materializer.batch_failed', { partitions: [...new Set(messages.map((m) => `${m.topic}/${m.partition}`))], firstOffset: messages[0]!.offset, message: (error as Error).message });
      fetchAgain([...items, ...committer.discard(new Error('dropped: queued behind a commit that failed'))]);
      throw error;
    }
    failures = 0;
    const { writes } = committed;
    // Kafka's committed offsets are a hint for where a new owner of a partition starts fetching: they
    // follow PostgreSQL's, never lead them. Losing this write loses nothing (the next one carries on).
    if (writes.next.length > 0) consumer.commitOffsets(writes.next.map((n) => ({ topic: n.topic, partition: n.partition, offset: String(n.offset) }))).catch(() => {});
    if (writes.dead.length > 0) logger.warn('materializer.dead_letters', { count: writes.dead.length, reasons: [...new Set(writes.dead.map((d) => d.reason))] });
    // Held only if a commit follows at once (the committer starts the next straight after this returns,
    // with what is queued): a batch that arrives later is not waited for.
    online.queue(
      () =>
        writeBehind(committed.online, (onlineWrites) => {
          const result: CommitResult = { ...writes, onlineWrites };
          options.onBatch?.(result);
          options.observer?.committed(result, messages.length, (performance.now() - started) / 1000);
        }, messages.length),
      committer.waiting() > 0,
    );
  }, MAX_MESSAGES_PER_COMMIT);

  /**
   * A fetched batch is decoded and queued for the next commit, and its offset resolved at once, so that
   * kafkajs fetches (and this decodes) the next batch while PostgreSQL commits this one. Resolving is only
   * kafkajs's fetch position: nothing is committed to Kafka here (autoCommit is off), and a failed commit
   * moves the position back (fetchAgain).
   */
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
    options.observer?.fetched(batch.topic, batch.partition, messages.length);
    const decoded = messages.map((m) => decodeMessage(registry, route, m));
    // At most one commit's worth waits behind the running commit; waiting can take a while, and the group
    // must not think this member has gone meanwhile.
    const beat = setInterval(() => void heartbeat().catch(() => {}), 1000);
    try {
      await committer.room(MAX_MESSAGES_PER_COMMIT);
    } finally {
      clearInterval(beat);
    }
    // A commit failed while this batch waited: its partition is being fetched again from further back.
    if (!isRunning() || isStale()) return;
    committer.add({ messages, decoded }, messages.length).catch(() => {});
    resolveOffset(batch.lastOffset());
    await heartbeat();
  };

  let sweeping: Promise<void> = Promise.resolve();
  let sweepRunning = false;
  const sweep = setInterval(() => {
    if (sweepRunning) return;
    sweepRunning = true;
    sweeping = flushOutbox(registry, stores, Date.now(), OUTBOX_STALE_MS)
      .then(
        (entities) => {
          if (entities > 0) logger.info('materializer.outbox_swept', { entities });
        },
        // The online store is down, most likely: the next sweep (or the next start) tries again.
        (error: unknown) => logger.warn('materializer.outbox_sweep_failed', { message: (error as Error).message }),
      )
      .finally(() => (sweepRunning = false));
  }, OUTBOX_SWEEP_EVERY_MS);
  sweep.unref();

  let resolveStarted!: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => resolveStarted());
  await consumer.run({ eachBatchAutoResolve: false, autoCommit: false, partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY, eachBatch: handle });
  // Once consuming: the sorted sets earlier versions left online, pruned and, once gone, marked.
  const retiring = retireSortedSetsInBackground(registry, stores.online, logger);
  return {
    started,
    stop: async () => {
      clearInterval(sweep);
      // Stopped at once (between two SCAN batches), so that leaving the group does not wait for it.
      const retired = retiring.stop();
      await sweeping;
      await consumer.disconnect();
      await retired;
      // What was queued commits (a failure is fine: it is fetched again on the next start), then the last
      // commit's online write: a clean stop leaves nothing in the outbox.
      await committer.idle();
      await online.settled();
    },
  };
}
