/**
 * Freshness: the time from a producer's send() to the moment the value is visible through the gateway's
 * own online read path (onlineFrame with a fresh ServingContext per read, as each request gets one).
 *
 * Probes go out at a steady modest rate while the materializer is caught up and idle. Each probe series
 * has an entity that receives nothing else, so its value counts the probes: the row probe's k-th row
 * carries seq = k, the aggregation probe's k-th event makes tx_count_24h = k. While a probe is pending,
 * its series reads every POLL_MS; a probe is visible at the end of the first read that shows a value ≥ k
 * (so the figure includes one read and is at most POLL_MS plus a read late).
 *
 * Baseline in the same run: Kafka alone, send() to a bare kafkajs consumer in this process receiving the
 * row probe's message.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, Producer } from 'kafkajs';
import type { Kafka } from 'kafkajs';
import type { Registry } from '../src/registry/registry.ts';
import { createServingContext } from '../src/serving/context.ts';
import type { Limits } from '../src/serving/context.ts';
import { onlineFrame } from '../src/serving/online-frame.ts';
import type { Stores } from '../src/stores/open.ts';
import { summarize } from './stats.ts';
import type { LatencySummary } from './stats.ts';

const POLL_MS = 2;
/** A row probe not visible after this long is counted as lost (and the target as missed). */
const LOST_AFTER_MS = 10_000;
/** An aggregation probe series whose first probe is not visible after this long is declared not served. */
const UNSERVED_AFTER_MS = 5_000;

export interface ProbeOptions {
  readonly registry: Registry;
  readonly stores: Stores;
  readonly limits: Limits;
  readonly kafka: Kafka;
  readonly producer: Producer;
  readonly id: string;
  /** Consumer group of the Kafka-alone baseline consumer. */
  readonly rawGroup: string;
  readonly probeTopic: string;
  readonly transactionsTopic: string;
  /** Probes per second of each series, and for how long. */
  readonly rate: number;
  readonly seconds: number;
  readonly log: (line: string) => void;
}

export interface SeriesResult {
  readonly feature: string;
  readonly sent: number;
  readonly lost: number;
  /** Latencies of the visible probes; undefined when none was. */
  readonly latency: LatencySummary | undefined;
  /** Why the series was given up, when its first probe never became visible. */
  readonly unavailable?: string;
}

export interface FreshnessResult {
  readonly row: SeriesResult;
  readonly aggregation: SeriesResult;
  readonly kafkaAlone: SeriesResult;
}

interface Read {
  readonly value: number;
  readonly status: string;
}

/** One probe series: send times, and visibility times filled in as reads show the count reach each k. */
class Series {
  readonly sentAt: number[] = [];
  readonly visibleAt: number[] = [];
  #next = 0;
  #seenAny = false;
  stopped = false;
  unavailable: string | undefined;
  last: Read = { value: 0, status: 'none yet' };

  readonly feature: string;
  readonly timeoutMs: number;

  constructor(feature: string, timeoutMs: number) {
    this.feature = feature;
    this.timeoutMs = timeoutMs;
  }

  get pending(): boolean {
    return this.#next < this.sentAt.length;
  }

  /** Probes 1..value are visible as of `at`. */
  seen(read: Read, at: number): void {
    this.last = read;
    while (this.#next < this.sentAt.length && this.#next + 1 <= read.value) {
      this.visibleAt[this.#next++] = at;
      this.#seenAny = true;
    }
  }

  /** Gives up on the oldest pending probe if it has waited too long; false when the whole series is given up. */
  expire(at: number): boolean {
    if (!this.pending || at - this.sentAt[this.#next]! < this.timeoutMs) return true;
    if (!this.#seenAny) {
      this.unavailable = `value ${this.last.value === 0 ? 'null' : this.last.value}, status ${this.last.status}, ${this.timeoutMs / 1000} s after the first probe`;
      this.stopped = true;
      return false;
    }
    this.visibleAt[this.#next++] = Number.NaN;
    return true;
  }

  result(): SeriesResult {
    const ns: number[] = [];
    this.sentAt.forEach((sent, i) => {
      const visible = this.visibleAt[i];
      if (visible !== undefined && Number.isFinite(visible)) ns.push((visible - sent) * 1e6);
    });
    return {
      feature: this.feature,
      sent: this.sentAt.length,
      lost: this.stopped ? 0 : this.sentAt.length - ns.length,
      latency: ns.length === 0 ? undefined : summarize(ns),
      ...(this.unavailable === undefined ? {} : { unavailable: this.unavailable }),
    };
  }
}

export async function measureFreshness(o: ProbeOptions): Promise<FreshnessResult> {
  const rowUser = `${o.id}-probe-row`;
  const aggUser = `${o.id}-probe-agg`;
  const row = new Series('bench_probe:seq', LOST_AFTER_MS);
  const aggregation = new Series('user_txn_windows:tx_count_24h', UNSERVED_AFTER_MS);
  const kafkaAlone = new Series('(Kafka alone) probe topic', LOST_AFTER_MS);

  const read = async (feature: string, user: string): Promise<Read> => {
    const ctx = createServingContext({ registry: o.registry, stores: o.stores, limits: o.limits });
    const frame = await onlineFrame(ctx, { features: [feature], entities: [{ user_id: user }] });
    const value = frame.rows[0]![1];
    return { value: typeof value === 'number' ? value : 0, status: frame.statuses[0]![1] ?? 'null' };
  };

  // Kafka alone: a bare consumer of the probe topic in this process, joined before the first probe.
  const consumer: Consumer = o.kafka.consumer({ groupId: o.rawGroup, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.probeTopic], fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      for (const m of batch.messages) {
        const seq = (JSON.parse(m.value!.toString('utf8')) as { seq: number }).seq;
        if (kafkaAlone.visibleAt[seq - 1] === undefined) kafkaAlone.visibleAt[seq - 1] = at;
      }
    },
  });
  await joined;

  let sending = true;
  const poll = async (series: Series, user: string) => {
    while (sending || series.pending) {
      if (series.pending) {
        try {
          const answer = await read(series.feature, user);
          series.seen(answer, performance.now());
        } catch (error) {
          series.last = { value: 0, status: `error: ${(error as Error).message}` };
        }
        if (!series.expire(performance.now())) return;
      }
      await sleep(POLL_MS);
    }
  };
  const pollers = [poll(row, rowUser), poll(aggregation, aggUser)];

  const count = Math.round(o.rate * o.seconds);
  o.log(`materializer: freshness: ${count} probes per series at ${o.rate}/s`);
  const sends: Promise<unknown>[] = [];
  const start = performance.now();
  try {
    for (let k = 1; k <= count; k++) {
      await sleep(Math.max(0, start + ((k - 1) * 1000) / o.rate - performance.now()));
      row.sentAt.push(performance.now());
      kafkaAlone.sentAt.push(row.sentAt.at(-1)!);
      sends.push(o.producer.send({ topic: o.probeTopic, messages: [{ key: rowUser, value: JSON.stringify({ user_id: rowUser, event_timestamp: Date.now(), seq: k }) }] }));
      if (!aggregation.stopped) {
        aggregation.sentAt.push(performance.now());
        const event = { user_id: aggUser, merchant_id: `${o.id}-probe-m`, amount: 1, event_time: new Date().toISOString() };
        sends.push(o.producer.send({ topic: o.transactionsTopic, messages: [{ key: aggUser, value: JSON.stringify(event) }] }));
      }
    }
    await Promise.all(sends);
  } finally {
    sending = false;
    await Promise.all(pollers);
    // Kafka alone: whatever has not arrived by the end of the row series' wait is lost.
    const deadline = performance.now() + LOST_AFTER_MS;
    const arrived = () => kafkaAlone.visibleAt.filter((v) => v !== undefined).length;
    while (arrived() < kafkaAlone.sentAt.length && performance.now() < deadline) await sleep(10);
    await consumer.disconnect();
  }
  return { row: row.result(), aggregation: aggregation.result(), kafkaAlone: kafkaAlone.result() };
}
