/**
 * Materializer lag: per partition, how many messages Kafka holds that the materializer has not committed.
 * The committed side is PostgreSQL's offsets table, not Kafka's group offsets: PostgreSQL is where a
 * batch counts (materializer/commit.ts), and Kafka's offsets may run behind it.
 *
 *   lag = end offset (Kafka's high watermark) − max(next offset stored in PostgreSQL, the log's start)
 *
 * A partition the group never committed resumes at the start of the log (the materializer reads from
 * the beginning), so everything still retained counts; so does a stored offset that retention has since
 * overtaken. The arithmetic is pure (partitionLags); KafkaLag does the two reads.
 */
import type { Admin } from 'kafkajs';
import { kafkaClient } from './kafka-client.ts';
import { OFFSETS } from '../stores/sql/materializer-tables.ts';
import type { OfflineStore } from '../stores/types.ts';

/** One partition's log bounds, as Kafka reports them. */
export interface PartitionEnds {
  readonly topic: string;
  readonly partition: number;
  /** First offset still retained. */
  readonly low: number;
  /** The offset the next message will get. */
  readonly high: number;
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly end: number;
  /** Next offset committed in PostgreSQL; null when the group never committed this partition. */
  readonly committed: number | null;
  readonly lag: number;
}

/** `stored`: next offset per `topic/partition`. */
export function partitionLags(ends: readonly PartitionEnds[], stored: ReadonlyMap<string, number>): PartitionLag[] {
  return ends.map((e) => {
    const committed = stored.get(`${e.topic}/${e.partition}`) ?? null;
    const from = Math.max(committed ?? e.low, e.low);
    return { topic: e.topic, partition: e.partition, end: e.high, committed, lag: Math.max(0, e.high - from) };
  });
}

/** Lag summed over each topic's partitions. */
export function lagByTopic(lags: readonly PartitionLag[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lags) out.set(l.topic, (out.get(l.topic) ?? 0) + l.lag);
  return out;
}

/** Reads a consumer group's lag from Kafka (end offsets) and PostgreSQL (committed offsets). */
export class KafkaLag {
  readonly #admin: Admin;
  readonly #offline: OfflineStore;
  readonly #group: string;
  #connected: Promise<void> | undefined;

  constructor(brokers: readonly string[], offline: OfflineStore, group: string) {
    this.#admin = kafkaClient('skewless-lag', brokers).admin();
    this.#offline = offline;
    this.#group = group;
  }

  /** Every partition of `topics`: one metadata read per topic and one query. */
  async read(topics: readonly string[]): Promise<PartitionLag[]> {
    this.#connected ??= this.#admin.connect().catch((error: unknown) => {
      // Not connected: the next read tries again.
      this.#connected = undefined;
      throw error;
    });
    await this.#connected;
    const ends = (
      await Promise.all(
        topics.map(async (topic) => (await this.#admin.fetchTopicOffsets(topic)).map((p) => ({ topic, partition: p.partition, low: Number(p.low), high: Number(p.high) }))),
      )
    ).flat();
    const rows = await this.#offline.query<{ topic: string; partition: number; next_offset: string | number }>(
      `select topic, partition, next_offset from ${OFFSETS} where group_id = $1 and topic = any($2::text[])`,
      [this.#group, [...topics]],
    );
    return partitionLags(ends, new Map(rows.map((r) => [`${r.topic}/${r.partition}`, Number(r.next_offset)])));
  }

  async close(): Promise<void> {
    if (this.#connected !== undefined) await this.#admin.disconnect();
  }
}
