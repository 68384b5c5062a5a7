/**
 * One consumer process for the materializer benchmark (bench/materializer.ts forks it, one at a time), so
 * what is measured has an event loop to itself, as `skewless materialize` has in production:
 *
 *   materialize   what `skewless materialize` runs (src/cli/materialize.ts): the registry loaded from
 *                 disk, the stores and options resolved from the same configuration, startMaterializer;
 *                 plus an onBatch callback that reports each committed batch (both stores written)
 *   raw           the baseline: a bare kafkajs consumer with the materializer's consumer settings, whose
 *                 eachBatch only JSON.parses and counts
 *
 * Each batch is reported to the parent over IPC with this process's clock; the parent sends `stop`.
 */
import { kafkaClient } from '../src/ops/kafka-client.ts';
import { resolveConfig } from '../src/config/config.ts';
import type { Config } from '../src/config/config.ts';
import { startMaterializer } from '../src/materializer/consumer.ts';
import { createLogger } from '../src/ops/log.ts';
import { loadRegistry } from '../src/registry/load.ts';
import { closeStores, openWriterStores } from '../src/stores/open.ts';
import { Timings, timedStores } from './materializer-timing.ts';
import type { Timing } from './materializer-timing.ts';

export interface WorkerArgs {
  readonly mode: 'materialize' | 'raw';
  readonly schemaDir: string;
  readonly transformsDir: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly brokers: string;
  readonly group: string;
  /** raw only: the topic to read from the beginning. */
  readonly topic?: string;
  /** materialize only: time every store call (materializer-timing.ts) and report the totals at stop. */
  readonly timed?: boolean;
}

/** Worker → parent. Times are this process's: epoch ms (high resolution) and process.hrtime µs (for --cpu-prof windows). */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'batch'; readonly topic: string; readonly events: number; readonly rows: number; readonly dead: number; readonly skipped: number; readonly atMs: number; readonly atUs: number }
  | { readonly type: 'timings'; readonly entries: readonly Timing[] }
  | { readonly type: 'failed'; readonly message: string };

/** Parent → worker. */
export type ParentMessage = { readonly type: 'stop' };

/** The configuration `skewless materialize` would resolve from these flags (every other setting at its default). */
export function workerConfig(args: Omit<WorkerArgs, 'mode' | 'topic'>): Config {
  return resolveConfig(
    { schemaDir: args.schemaDir, transformsDir: args.transformsDir, databaseUrl: args.databaseUrl, redisUrl: args.redisUrl, kafkaBrokers: args.brokers, consumerGroup: args.group },
    {},
  );
}

const send = (message: WorkerMessage) => process.send!(message);
const now = () => ({ atMs: performance.timeOrigin + performance.now(), atUs: Number(process.hrtime.bigint() / 1000n) });

async function materialize(args: WorkerArgs): Promise<() => Promise<void>> {
  const config = workerConfig(args);
  const result = await loadRegistry(config);
  if (!result.ok) throw new Error(`the bench schema has problems: ${result.problems.map((p) => p.message).join('; ')}`);
  // As skewless materialize opens them (its Redis command timeout is --online-write-timeout).
  const opened = await openWriterStores(config);
  const timings = new Timings();
  const stores = args.timed === true ? timedStores(opened, timings) : opened;
  const bounds = { allowedLatenessMs: config.allowedLatenessMs, maxFutureSkewMs: config.maxFutureSkewMs };
  const materializer = await startMaterializer(
    result.registry,
    stores,
    {
      brokers: config.kafkaBrokers!,
      groupId: config.consumerGroup,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
      pieceCacheRows: config.pieceCacheRows,
      bounds,
      onBatch: (r) => {
        let events = 0;
        let rows = 0;
        for (const list of r.events.values()) events += list.length;
        for (const list of r.rows.values()) rows += list.length;
        const topic = r.next[0]?.topic ?? '';
        send({ type: 'batch', topic, events, rows, dead: r.dead.length, skipped: r.skipped, ...now() });
      },
    },
    createLogger('warn', (line) => process.stderr.write(`${line}\n`)),
  );
  await materializer.started;
  return async () => {
    await materializer.stop();
    await closeStores(opened);
    if (args.timed === true) await new Promise((resolve) => process.send!({ type: 'timings', entries: timings.list() } satisfies WorkerMessage, resolve));
  };
}

async function raw(args: WorkerArgs): Promise<() => Promise<void>> {
  const config = workerConfig(args);
  const kafka = kafkaClient('skewless-bench-raw', config.kafkaBrokers!);
  // The materializer's consumer settings (src/materializer/consumer.ts), so only the work per batch differs.
  const session = config.kafkaSessionTimeoutMs;
  const consumer = kafka.consumer({ groupId: args.group, allowAutoTopicCreation: false, sessionTimeout: session, heartbeatInterval: Math.min(3000, Math.floor(session / 3)) });
  await consumer.connect();
  await consumer.subscribe({ topics: [args.topic!], fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  let sink = 0;
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) if (m.value !== null) sink += Object.keys(JSON.parse(m.value.toString('utf8')) as object).length;
      send({ type: 'batch', topic: batch.topic, events: batch.messages.length, rows: 0, dead: 0, skipped: 0, ...now() });
    },
  });
  await joined;
  return async () => {
    await consumer.disconnect();
    if (sink < 0) process.stderr.write('unreachable\n'); // keeps the parsing from being optimised away
  };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as WorkerArgs;
  let stop: (() => Promise<void>) | undefined;
  process.on('message', (message: ParentMessage) => {
    if (message.type !== 'stop') return;
    void (async () => {
      await stop?.();
      // Exits normally, so that a --cpu-prof profile is written.
      process.exit(0);
    })();
  });
  try {
    stop = args.mode === 'raw' ? await raw(args) : await materialize(args);
    send({ type: 'ready' });
  } catch (error) {
    send({ type: 'failed', message: (error as Error).stack ?? String(error) });
    process.exit(1);
  }
}

// Only when forked as a program: bench/materializer.ts imports the types and workerConfig from here.
if (import.meta.main) await main();
