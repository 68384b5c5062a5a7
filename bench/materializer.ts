/**
 * The materializer benchmark: events/s one `skewless materialize` process computes into both stores
 * (PostgreSQL archive, tiles and offsets in one transaction per batch, then Redis) with the repository's
 * own views, next to a bare kafkajs consumer reading the same topic in the same run; then freshness, from
 * a producer's send() to the value being visible through the gateway's online read path.
 *
 *   1. produce W warm-up and then N measured realistic transactions (bench/materializer-fixture.ts) to a
 *      topic of this run's;
 *   2. raw baseline: a forked process with a bare kafkajs consumer (JSON.parse and count) reads it all;
 *   3. the materializer, in a forked process as `skewless materialize` runs it, reads it all;
 *   4. with that materializer caught up and idle, probes at a steady rate (bench/materializer-probe.ts);
 *   5. with --profile, one more materializer run over the same topic into a second fresh database, under
 *      --cpu-prof, summarised over its consuming window.
 *
 * Each consumer (2, 3, 5) is measured once its first W messages are in: a materializer runs for days, and
 * a new process spends its first seconds compiling its own code (see WARMUP_SHARE).
 *
 * Everything it creates (topics, consumer groups, databases, Redis keys, processes) is removed at the end.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Partitioners } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { loadRegistry } from '../src/registry/load.ts';
import type { Registry } from '../src/registry/registry.ts';
import type { AggregationView, EventSource } from '../src/registry/types.ts';
import { closeStores, openStores } from '../src/stores/open.ts';
import type { Stores } from '../src/stores/open.ts';
import { DEAD_LETTERS, eventsTable, slicesTable, tilesTable } from '../src/stores/sql/materializer-tables.ts';
import { headsTable } from '../src/stores/sql/heads-tables.ts';
import type { BenchContext, Benchmark, Section } from './benchmark.ts';
import { LogProblems } from './log-problems.ts';
import { CpuWindow, OTHERS, ThreadWindow, commandPids } from './cpu.ts';
import type { ThreadShares } from './cpu.ts';
import { archiveHistory } from './archive-history.ts';
import { PARTITIONS, POPULATION, createFixture, scanKeys, transactions } from './materializer-fixture.ts';
import type { Population } from './materializer-fixture.ts';
import type { Fixture } from './materializer-fixture.ts';
import { measureHotReads } from './materializer-hot.ts';
import { measureFreshness } from './materializer-probe.ts';
import type { FreshnessResult, SeriesResult } from './materializer-probe.ts';
import { workerConfig } from './materializer-worker.ts';
import type { ParentMessage, WorkerArgs, WorkerMessage } from './materializer-worker.ts';
import type { Timing } from './materializer-timing.ts';
import { BENCH_DIR, ROOT } from './paths.ts';
import { summarizeProfile } from './profile.ts';
import { benchService } from './services.ts';
import { ratio } from './stats.ts';
import { ms, percent, perSecond, times } from './table.ts';

const WORKER = path.join(BENCH_DIR, 'materializer-worker.ts');
/** The issue's targets and reference points. */
const TARGET_PER_SECOND = 30_000;
const TARGET_P99_MS = 1000;
const PROBE_RATE = 20;
/** A consumer that commits nothing for this long is stuck: the run fails rather than hangs. */
const STALL_MS = 60_000;
const PRODUCE_CHUNK = 5000;
/**
 * Messages each consumer reads before its window opens, as a share of the measured ones. A new process
 * first runs its code unoptimised while V8 compiles it: profiled, the compiler threads took about 13% of
 * the materializer's CPU over its first 200,000 events, more than half of it in the first second, and the
 * commit after the first was the slowest of a run by half. What a long-running process does is the figure.
 */
const WARMUP_SHARE = 0.25;

type Batch = Extract<WorkerMessage, { type: 'batch' }>;

/** A forked consumer process (bench/materializer-worker.ts) and the batches it has reported. */
class Worker {
  readonly batches: Batch[] = [];
  /** What a `timed` worker reported when it stopped. */
  timings: readonly Timing[] = [];
  onBatch: ((batch: Batch) => void) | undefined;
  /** What it logged at warn or error level (a failed commit, retried; an online write behind; …). */
  readonly problems = new LogProblems();
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    const orphaned = () => child.kill('SIGKILL');
    process.once('exit', orphaned);
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        process.off('exit', orphaned);
        resolve(code);
      }),
    );
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      this.#stderr = (this.#stderr + text).slice(-8000);
      this.problems.feed(text);
    });
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'timings') this.timings = message.entries;
      if (message.type !== 'batch') return;
      this.batches.push(message);
      this.onBatch?.(message);
    });
  }

  static async start(args: WorkerArgs, execArgv: readonly string[]): Promise<Worker> {
    const child = fork(WORKER, [JSON.stringify(args)], { cwd: ROOT, execArgv: [...execArgv], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const worker = new Worker(child);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') resolve();
        if (message.type === 'failed') reject(new Error(`${args.mode} worker failed to start: ${message.message}`));
      });
      void worker.#exited.then((code) => reject(new Error(`${args.mode} worker exited with ${code} before it was ready:\n${worker.#stderr}`)));
    });
    return worker;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Resolves when the batches of `topic` account for `total` messages; rejects on a stall or an exit. */
  async until(topic: string, total: number): Promise<void> {
    const previous = this.onBatch;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          clearTimeout(timer);
          if (accounted(this.batches, topic) >= total) return resolve();
          timer = setTimeout(() => reject(new Error(`no batch for ${STALL_MS / 1000} s at ${accounted(this.batches, topic)} of ${total} messages:\n${this.#stderr}`)), STALL_MS);
        };
        this.onBatch = (batch) => {
          previous?.(batch);
          check();
        };
        void this.#exited.then((code) => reject(new Error(`worker exited with ${code}:\n${this.#stderr}`)));
        check();
      });
    } finally {
      clearTimeout(timer);
      this.onBatch = previous;
    }
  }

  /** Asks the worker to leave its group and exit (writing a --cpu-prof profile); kills it after 15 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.send({ type: 'stop' } satisfies ParentMessage);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

const messagesOf = (b: Batch) => b.events + b.rows + b.dead + b.skipped;
const accounted = (batches: readonly Batch[], topic: string) => batches.filter((b) => b.topic === topic).reduce((n, b) => n + messagesOf(b), 0);

/** Messages a consumer reads before its window opens (WARMUP_SHARE), and then in it. */
interface Counts {
  readonly warmup: number;
  readonly measured: number;
}

interface Throughput {
  /** Messages completed inside the window (whole batches, so about Counts.measured). */
  readonly messages: number;
  readonly batches: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** The rate from the end of the first batch instead, warm-up included (how runs before the warm-up measured). */
  readonly fromFirstBatch: number;
  readonly windowUs: readonly [number, number];
  /** Share of one core: the consumer process, and every other process on the machine. */
  readonly cpu: number | undefined;
  readonly otherCpu: number | undefined;
  /** Share of one core per part of the machine (MACHINE_PARTS, then the bench and the rest), over the same window. */
  readonly parts: ReadonlyMap<string, number | undefined>;
  /** How the consumer's main thread spent the window (on a core, waiting for one, blocked), when readable. */
  readonly mainThread: ThreadShares | undefined;
  /** The same for the busiest PostgreSQL process over the window: the consumer's connection, when it does the most. */
  readonly postgresBackend: ThreadShares | undefined;
  /** Share of one core the host took from the machine over the window (steal). */
  readonly steal: number | undefined;
}

/**
 * The services' processes on this machine, by command name: where the machine's CPU goes besides the
 * consumer. A service on another host (KAFKA_BROKERS, DATABASE_URL or REDIS_URL pointing elsewhere) reads 0.
 */
const MACHINE_PARTS: Readonly<Record<string, string>> = { PostgreSQL: 'postgres', Redis: 'redis-server', 'Kafka (java)': 'java' };

/**
 * Rate from the end of the batch that completes the warm-up to the end of the batch that completes the
 * topic: the messages of the batches in between and of the last (as consume() opens and closes the CPU
 * window).
 */
function throughputOf(batches: readonly Batch[], topic: string, counts: Counts, cpu: CpuWindow, threads: { readonly main: ThreadWindow; readonly postgres: ThreadWindow }, name: string): Throughput {
  const list = batches.filter((b) => b.topic === topic && messagesOf(b) > 0);
  let sum = 0;
  const done = list.map((b) => (sum += messagesOf(b)));
  const end = done.findIndex((n) => n >= counts.warmup + counts.measured);
  const open = done.findIndex((n) => n >= counts.warmup);
  const [first, last] = [list[open]!, list[end]!];
  const seconds = (last.atMs - first.atMs) / 1000;
  const messages = done[end]! - done[open]!;
  const parts = new Map([...Object.keys(MACHINE_PARTS), 'this bench', OTHERS].map((part) => [part, cpu.share(part)]));
  return {
    messages,
    batches: end - open,
    seconds,
    perSecond: messages / seconds,
    fromFirstBatch: (done[end]! - done[0]!) / ((last.atMs - list[0]!.atMs) / 1000),
    windowUs: [first.atUs, last.atUs],
    cpu: cpu.share(name),
    otherCpu: sumOf([...parts.values()]),
    parts,
    mainThread: threads.main.busiest(),
    postgresBackend: threads.postgres.busiest(),
    steal: cpu.steal(),
  };
}

/** Starts a consumer process and measures it reading the topic's messages after its warm-up ones. */
async function consume(args: WorkerArgs, topic: string, counts: Counts, execArgv: readonly string[] = []): Promise<{ worker: Worker; result: Throughput }> {
  const worker = await Worker.start(args, execArgv);
  const cpu = new CpuWindow({ consumer: worker.pid, 'this bench': process.pid }, MACHINE_PARTS);
  const threads = { main: new ThreadWindow(() => [worker.pid]), postgres: new ThreadWindow(() => commandPids(MACHINE_PARTS.PostgreSQL!)) };
  const windows = [cpu, threads.main, threads.postgres];
  let opened = false;
  worker.onBatch = (b) => {
    if (b.topic !== topic) return;
    const done = accounted(worker.batches, topic);
    // The window opens at the end of the batch that completes the warm-up and closes at the end of the topic.
    if (!opened && done >= counts.warmup) {
      for (const w of windows) w.open();
      opened = true;
    } else if (opened && done >= counts.warmup + counts.measured) {
      for (const w of windows) w.close();
    }
  };
  try {
    await worker.until(topic, counts.warmup + counts.measured);
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return { worker, result: throughputOf(worker.batches, topic, counts, cpu, threads, 'consumer') };
}

async function produce(producer: Producer, fixture: Fixture, total: number, population: Population): Promise<number> {
  const started = performance.now();
  for (let from = 0; from < total; from += PRODUCE_CHUNK) {
    await producer.send({ topic: fixture.transactionsTopic, messages: transactions(fixture.id, from, Math.min(PRODUCE_CHUNK, total - from), population) });
  }
  return (performance.now() - started) / 1000;
}

/** The source the topic carries and the aggregation views over it. */
function topicViews(registry: Registry, topic: string): { source: EventSource; views: AggregationView[] } {
  const source = registry.sources.find((s) => s.topic === topic)!;
  return { source, views: registry.views.filter((v): v is AggregationView => v.kind === 'aggregation' && v.source === source.name) };
}

/** The throughput section's sentence on what the archive held before the run. */
function historyText(events: number): string {
  if (events === 0) return 'The archive is empty when the materializer starts: each event\'s index entries go into small indexes, the cheapest case (docs/benchmarks.md, "An archive with history"; `--archive-events N` to run with one).';
  return (
    `Before the run, the archive already held ${events.toLocaleString('en-US')} events of the same users and merchants, over the 30 days before it (--archive-events, bench/archive-history.ts): ` +
    'each event\'s index entries go into indexes that size. Only the archive: the tiles of that history are not computed.'
  );
}

/** What the materializer left in PostgreSQL: every event archived once, none dead, tiles per view. */
async function checkStores(registry: Registry, stores: Stores, topic: string, total: number): Promise<string> {
  const { source, views } = topicViews(registry, topic);
  const count = async (sql: string, params: unknown[] = []) => Number((await stores.offline.query<{ n: string }>(sql, params))[0]!.n);
  // The run's own topic: a history archived before the run (--archive-events) is on another.
  const archived = await count(`select count(*) as n from ${eventsTable(source.name)} where _topic = $1`, [topic]);
  const dead = await count(`select count(*) as n from ${DEAD_LETTERS}`);
  if (archived !== total || dead !== 0) throw new Error(`after the run PostgreSQL holds ${archived} archived events (expected ${total}) and ${dead} dead letters (expected 0)`);
  // Informative only: the tile tables' layout is the materializer's business, so a change there must not fail the bench.
  // Tiles and slices together are the rows a commit merges into: what --piece-cache-rows must hold to serve every merge.
  const tiles = await Promise.all(
    views.map(async (v) => {
      const n = async (sql: string) => (await count(sql)).toLocaleString('en-US');
      return `${await n(`select count(*) as n from ${tilesTable(v.name)}`)} tiles, ${await n(`select count(*) as n from ${slicesTable(v.name)}`)} slices and ${await n(`select count(*) as n from ${headsTable(v.name)}`)} heads rows in ${v.name}`;
    }),
  ).catch(() => ['tile counts not read']);
  return `Checked in PostgreSQL after the run: ${archived.toLocaleString('en-US')} events archived, 0 dead letters, ${tiles.join(', ')}.`;
}

/**
 * What this run's keys take in Redis right after it (MEMORY USAGE of each, every element counted), with
 * the raw-event buckets apart: before any expires, so about what a minute of this traffic keeps online.
 */
async function onlineMemory(redisUrl: string, id: string, events: number): Promise<string> {
  try {
    const all = { keys: 0, bytes: 0 };
    const buckets = { keys: 0, bytes: 0 };
    await scanKeys(redisUrl, `*${id}*`, async (redis, keys) => {
      const sizes = await Promise.all(keys.map((k) => redis.memory('USAGE', k, 'SAMPLES', 0)));
      keys.forEach((k, i) => {
        const bytes = Number(sizes[i] ?? 0);
        all.keys++;
        all.bytes += bytes;
        if (k.includes(':events:')) {
          buckets.keys++;
          buckets.bytes += bytes;
        }
      });
    });
    const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;
    return (
      `Online after the run (Redis MEMORY USAGE of the run's keys): ${all.keys.toLocaleString('en-US')} keys, ${mib(all.bytes)}, ${Math.round(all.bytes / events)} bytes per event; ` +
      `of which raw-event buckets ${buckets.keys.toLocaleString('en-US')} keys, ${mib(buckets.bytes)}.`
    );
  } catch (error) {
    // Informative only.
    return `Online memory not read: ${(error as Error).message}.`;
  }
}

export const materializerBench: Benchmark = {
  name: 'materializer',
  title: 'events/s into both stores against raw kafkajs, and produce-to-visible freshness',
  async run(ctx: BenchContext): Promise<Section[]> {
    const quick = ctx.options.quick;
    const population: Population = { ...POPULATION, users: ctx.options.users };
    const measured = quick ? 20_000 : 200_000;
    const counts: Counts = { warmup: measured * WARMUP_SHARE, measured };
    const total = counts.warmup + counts.measured;
    const probeSeconds = quick ? 3 : 10;
    const [redisUrl, serverUrl] = [await ctx.redisUrl(), await ctx.databaseUrl()];
    const kafkaService = await benchService('kafka', ctx.log);
    const fixture = await createFixture({ brokers: kafkaService.url, redisUrl, databaseUrl: serverUrl }, ctx.log);
    const producer = fixture.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const workers: Worker[] = [];
    let stores: Stores | undefined;
    try {
      const base = { schemaDir: fixture.schemaDir, transformsDir: fixture.transformsDir, databaseUrl: fixture.databaseUrl, redisUrl, brokers: fixture.brokers };
      const config = workerConfig({ ...base, group: `${fixture.id}_probe` });
      const loaded = await loadRegistry(config);
      if (!loaded.ok) throw new Error(`the bench schema has problems: ${loaded.problems.map((p) => p.message).join('; ')}`);
      const registry = loaded.registry;
      const history = ctx.options.archiveEvents;
      const source = topicViews(registry, fixture.transactionsTopic).source;
      const fillHistory = async (databaseUrl: string) => {
        if (history === 0) return;
        ctx.log(`materializer: archiving ${history.toLocaleString('en-US')} events of history into ${new URL(databaseUrl).pathname.slice(1)}`);
        await archiveHistory({ ...config, databaseUrl }, registry, source, fixture.id, history, population);
      };
      await fillHistory(fixture.databaseUrl);

      await producer.connect();
      ctx.log(`materializer: producing ${total.toLocaleString('en-US')} transactions (${counts.warmup.toLocaleString('en-US')} of them warm-up)`);
      const produceSeconds = await produce(producer, fixture, total, population);

      ctx.log('materializer: raw kafkajs consumer');
      const rawGroup = `${fixture.id}_raw`;
      fixture.groups.push(rawGroup);
      const raw = await consume({ ...base, mode: 'raw', group: rawGroup, topic: fixture.transactionsTopic }, fixture.transactionsTopic, counts);
      workers.push(raw.worker);
      await raw.worker.stop();

      ctx.log('materializer: materializer process');
      const group = `${fixture.id}_materializer`;
      fixture.groups.push(group);
      const materialized = await consume({ ...base, mode: 'materialize', group }, fixture.transactionsTopic, counts);
      workers.push(materialized.worker);

      stores = await openStores(config);
      const checked = `${await checkStores(registry, stores, fixture.transactionsTopic, total)} ${await onlineMemory(redisUrl, fixture.id, total)} ${materialized.worker.problems.text()}`;

      const limits = { maxEntities: config.maxEntities, maxPushRows: config.maxPushRows, maxHistoricalRows: config.maxHistoricalRows, entitySqlTimeoutMs: config.entitySqlTimeoutMs };
      const rawProbeGroup = `${fixture.id}_probe_raw`;
      fixture.groups.push(rawProbeGroup);
      const freshness = await measureFreshness({
        registry,
        stores,
        limits,
        kafka: fixture.kafka,
        producer,
        id: fixture.id,
        rawGroup: rawProbeGroup,
        probeTopic: fixture.probeTopic,
        transactionsTopic: fixture.transactionsTopic,
        rate: PROBE_RATE,
        seconds: probeSeconds,
        log: ctx.log,
      });
      await materialized.worker.stop();
      ctx.log('materializer: online reads of busy entities');
      const hot = await measureHotReads(registry, stores, limits, fixture.id);

      const sections = [throughputSection(materialized.result, raw.result, counts, produceSeconds, checked, describeViews(registry, fixture.transactionsTopic), historyText(history), population, quick), machineSection(materialized.result, os.availableParallelism()), freshnessSection(freshness), hot];
      if (ctx.options.profile) {
        const profiled = await profileSections(ctx, fixture, base, counts, fillHistory);
        workers.push(profiled.worker);
        sections.push(...profiled.sections);
      }
      return sections;
    } finally {
      await Promise.allSettled(workers.map((w) => w.stop()));
      await producer.disconnect().catch(() => {});
      if (stores !== undefined) await closeStores(stores);
      await fixture.dispose(ctx.log);
      await kafkaService.release();
    }
  },
};

/** A ratio such as "0.031×" or "1.0×": two significant digits below 1, where times() would print 0.0×. */
function fraction(value: number): string {
  return Number.isFinite(value) && value < 1 ? `${value.toPrecision(2)}×` : times(value);
}

/** The sum, or undefined when any share could not be read. */
function sumOf(shares: readonly (number | undefined)[]): number | undefined {
  return shares.includes(undefined) ? undefined : shares.reduce<number>((a, b) => a + b!, 0);
}

/**
 * Where the whole machine's CPU went per event during the materializer's run, and what that cost allows:
 * the services share the cores with the consumer here, so cores ÷ CPU per event bounds events/s however well
 * the consumer overlaps its waits.
 */
function machineSection(m: Throughput, cores: number): Section {
  const perEvent = (share: number | undefined) => (share === undefined || !(m.perSecond > 0) ? undefined : (share / m.perSecond) * 1e6);
  const us = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(1)} µs`);
  const rows: [string, number | undefined][] = [['materializer (consumer process)', m.cpu], ...m.parts];
  const total = sumOf(rows.map(([, share]) => share));
  const totalUs = perEvent(total);
  return {
    title: 'Machine CPU per event, materializer run',
    text: [
      'The same window as the materializer row above: CPU time of each part of the machine divided by the events completed in it. ' +
        `PostgreSQL, Redis and Kafka are every process with that command name (\`${Object.values(MACHINE_PARTS).join('`, `')}\`); "others" is the rest of the machine.`,
    ],
    table: {
      columns: ['part', 'CPU share', 'CPU per event'],
      rows: [...rows.map(([part, share]) => [part, percent(share), us(perEvent(share))]), ['total', percent(total), us(totalUs)]],
    },
    notes: [
      totalUs === undefined
        ? 'Ceiling: n/a (CPU not readable here).'
        : `Ceiling at this cost: ${cores} cores ÷ ${totalUs.toFixed(1)} µs per event = ${perSecond((cores * 1e6) / totalUs)} events/s, if every core were busy all the time; ` +
          `the run did ${perSecond(m.perSecond)}, ${Math.round((m.perSecond / ((cores * 1e6) / totalUs)) * 100)}% of it (steadier than events/s when the machine's speed drifts between runs, docs/benchmarks.md). ` +
          `The ${TARGET_PER_SECOND.toLocaleString('en-US')} events/s target needs at most ${((cores * 1e6) / TARGET_PER_SECOND).toFixed(1)} µs per event in all on this machine.`,
      threadsNote(m),
    ],
  };
}

/**
 * Where the time of the two threads that carry a commit went over the same window, from the scheduler:
 * the materializer's main thread (all of its JavaScript) and the busiest PostgreSQL process (its
 * connection, which runs each commit's statements one after another).
 */
function threadsNote(m: Throughput): string {
  const spent = (t: ThreadShares | undefined) =>
    t === undefined ? 'n/a (scheduler counters not readable here)' : `on a core ${percent(t.onCore)}, runnable but waiting for a core ${percent(t.waiting)}, blocked ${percent(t.blocked)}`;
  const others = m.cpu === undefined || m.mainThread === undefined ? 'n/a' : percent(Math.max(0, m.cpu - m.mainThread.onCore));
  return (
    `Over the same window (/proc schedstat): the materializer's main thread ${spent(m.mainThread)} (waiting on PostgreSQL, Redis or Kafka); ` +
    `the busiest PostgreSQL process (the materializer's connection) ${spent(m.postgresBackend)} (waiting for the materializer's next statement). ` +
    `The materializer's other threads (V8's collector and compiler, libuv) took ${others} of a core; the host took ${percent(m.steal)} of one core from the machine (steal). ` +
    'Each thread is blocked while the other works on the commit it waits for; both waiting for a core means the machine is short of cores (docs/benchmarks.md).'
  );
}

/**
 * The aggregation views over the topic's source as the schema defines them, with what decides their cost:
 * per (hop, slice), the functions. E.g. `merchant_baseline (AVG, STDDEV, APPROX_PERCENTILE, COUNT: 1d hop, 24m slices)`.
 */
function describeViews(registry: Registry, topic: string): string {
  return topicViews(registry, topic)
    .views
    .map((v) => {
      const groups = new Map<string, string[]>();
      for (const f of v.features) {
        const a = f.aggregation!;
        const key = a.sliceMs === a.hopMs ? `${a.hop} hop, unsliced` : `${a.hop} hop, ${a.slice} slices`;
        groups.set(key, [...new Set([...(groups.get(key) ?? []), a.fn])]);
      }
      return `${v.name} (${[...groups].map(([key, fns]) => `${fns.join(', ')}: ${key}`).join('; ')})`;
    })
    .join(' and ');
}

function throughputSection(m: Throughput, raw: Throughput, counts: Counts, produceSeconds: number, checked: string, views: string, history: string, population: Population, quick: boolean): Section {
  const total = counts.warmup + counts.measured;
  const met = m.perSecond >= TARGET_PER_SECOND;
  const row = (label: string, t: Throughput, target: string, verdict: string) => [
    label,
    t.messages.toLocaleString('en-US'),
    String(t.batches),
    t.seconds.toFixed(2),
    perSecond(t.perSecond),
    perSecond(t.fromFirstBatch),
    fraction(ratio(t.perSecond, raw.perSecond)),
    percent(t.cpu),
    t.cpu === undefined || !(t.perSecond > 0) ? '—' : `${((t.cpu / t.perSecond) * 1e6).toFixed(1)} µs`,
    percent(t.otherCpu),
    target,
    verdict,
  ];
  return {
    title: 'Throughput: events/s per process into both stores',
    text: [
      `${total.toLocaleString('en-US')} transactions of the repository's own \`Transaction\` source (schema/, topic renamed for the run), keyed by user_id, ` +
        `${population.users.toLocaleString('en-US')} users${population.users === POPULATION.users ? '' : ' (`--users`)'}, ${population.merchants} merchants (skewed), event_time up to 5 min before the send, on a topic of ${PARTITIONS} partitions; ` +
        `produced before either consumer starts (${produceSeconds.toFixed(1)} s, ${perSecond(total / produceSeconds)} msg/s). Views computed: ${views}. ${history}`,
      `Each consumer is measured once it has completed its first ${counts.warmup.toLocaleString('en-US')} messages (warm-up): a materializer is a long-running process, and a new one spends its first seconds compiling its own code. ` +
        'The rate from the end of its first batch, warm-up included, is beside it (runs before 2026-11-22 reported that one).',
      'Each consumer is its own process with a fresh consumer group reading from the beginning, one after the other. The materializer is what `skewless materialize` runs (same configuration defaults); ' +
        'its batches are counted when onBatch fires, after the PostgreSQL transaction (archive, tiles, offsets) and the Redis writes. The raw consumer is a bare kafkajs consumer with the same consumer settings whose eachBatch only JSON.parses and counts.',
    ],
    table: {
      columns: ['consumer', 'messages', 'batches', 'seconds', 'msg/s', 'msg/s incl. warm-up', 'vs raw kafkajs', 'consumer CPU', 'CPU per msg', 'other CPU', 'target', 'met?'],
      rows: [
        row('materializer → PostgreSQL + Redis', m, `≥ ${TARGET_PER_SECOND.toLocaleString('en-US')} events/s`, quick ? '— (quick)' : met ? 'yes' : 'no'),
        row('raw kafkajs (JSON.parse + count)', raw, 'reference: ~127k msg/s', ''),
      ],
    },
    notes: [
      'Seconds: from the end of the batch that completes the warm-up to the end of the batch that completes the topic; messages and msg/s: the batches completed in that window. ' +
        'msg/s incl. warm-up: from the end of the first batch (whose fetch began before any window could) to the same end. ' +
        'CPU: share of one core over that window, for the consumer process and for every other process (PostgreSQL, Kafka, Redis, this bench). ' +
        "CPU per msg: the consumer process's CPU time over the window divided by the messages it completed there; one second divided by it is what the process could consume on a core of its own if it never waited for a store.",
      checked,
      "Reference points, other hardware, not this run: Flink's sliding-window Nexmark query about 22k events/s per core; KafkaJS raw consumption about 127k messages/s.",
    ],
  };
}

function freshnessSection(f: FreshnessResult): Section {
  const kafka = f.kafkaAlone.latency;
  const row = (label: string, s: SeriesResult): string[] => {
    if (s.unavailable !== undefined || s.latency === undefined) {
      return [label, String(s.sent), 'not available: aggregation views not served online yet', '—', '—', '—', ms(kafka?.p50 ?? Number.NaN), ms(kafka?.p99 ?? Number.NaN), `p99 ≤ ${TARGET_P99_MS / 1000} s`, '—'];
    }
    const met = s.lost === 0 && s.latency.p99 <= TARGET_P99_MS;
    return [label, String(s.sent), ms(s.latency.p50), ms(s.latency.p99), ms(s.latency.max), String(s.lost), ms(kafka?.p50 ?? Number.NaN), ms(kafka?.p99 ?? Number.NaN), `p99 ≤ ${TARGET_P99_MS / 1000} s`, met ? 'yes' : 'no'];
  };
  const notes = [
    `Kafka alone: send() to a bare kafkajs consumer of the probe topic in the bench process receiving the row probe's message (same run, ${f.kafkaAlone.sent} probes, ${f.kafkaAlone.lost} not received).`,
  ];
  if (f.aggregation.unavailable !== undefined) notes.push(`Aggregation probe: ${f.aggregation.feature} of its probe user read ${f.aggregation.unavailable}; probing stopped there.`);
  return {
    title: 'Freshness: send() to visible through onlineFrame',
    text: [
      `After the throughput run, with the materializer caught up and idle: ${PROBE_RATE} probes/s per series. Each series has a user that receives only its probes. ` +
        "The row probe produces a row of a row view fed by its own topic (`BenchProbe @featureView(entity: \"User\", topic: …) { seq: Int }`, added to the run's schema) with seq = k; " +
        'the aggregation probe produces a transaction, the k-th making tx_count_24h = k. A probe is visible at the end of the first onlineFrame read (fresh ServingContext per read, polled every 2 ms while a probe is pending) answering ≥ k.',
    ],
    table: {
      columns: ['probe', 'probes', 'p50', 'p99', 'max', 'lost', 'Kafka alone p50', 'Kafka alone p99', 'target', 'met?'],
      rows: [row(`row view (${f.row.feature})`, f.row), row(`aggregation (${f.aggregation.feature})`, f.aggregation)],
    },
    notes,
  };
}

/** The transactions' time not spent in their statements: JS inside the transaction (planning, folding, merging), begin and commit. */
function outsideStatements(timings: readonly Timing[]): Timing[] {
  const tx = timings.find((t) => t.name.startsWith('PostgreSQL transaction'));
  if (tx === undefined) return [];
  const statements = timings.filter((t) => t.name.startsWith('  sql:')).reduce((n, t) => n + t.ms, 0);
  return [{ name: '  (between statements: JS inside the transaction, begin, commit)', calls: tx.calls, ms: tx.ms - statements }];
}

/**
 * One more materializer run over the same topic, into a second fresh database, under --cpu-prof and with
 * every store call timed: where its CPU goes, and where its wall time goes (mostly waiting, when the
 * process is far from a full core).
 */
async function profileSections(ctx: BenchContext, fixture: Fixture, base: Omit<WorkerArgs, 'mode' | 'group'>, counts: Counts, fillHistory: (databaseUrl: string) => Promise<void>): Promise<{ worker: Worker; sections: Section[] }> {
  const total = counts.warmup + counts.measured;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skewless-bench-prof-'));
  try {
    ctx.log('materializer: profiling a second materializer run (--cpu-prof, store calls timed)');
    const group = `${fixture.id}_profiled`;
    fixture.groups.push(group);
    const databaseUrl = await fixture.database('_prof');
    await fillHistory(databaseUrl);
    const run = await consume({ ...base, databaseUrl, mode: 'materialize', group, timed: true }, fixture.transactionsTopic, counts, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    await run.worker.stop();
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`the materializer wrote no .cpuprofile into ${dir}`);
    // For a closer look (Chrome DevTools, speedscope): the profile is otherwise deleted with its directory.
    if (process.env.SKEWLESS_BENCH_KEEP_PROFILE !== undefined) await copyFile(path.join(dir, file), process.env.SKEWLESS_BENCH_KEEP_PROFILE);
    const summary = summarizeProfile(path.join(dir, file), run.result.windowUs);
    const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
    const windowMs = run.result.seconds * 1000;
    const cpu: Section = {
      title: `Materializer CPU profile (${perSecond(run.result.perSecond)} events/s while profiled)`,
      text: [
        `${summary.windowed ? 'Samples inside the consuming window' : 'All samples (the window did not match the profile clock)'}: ${summary.totalMs.toFixed(0)} ms over a window of ${windowMs.toFixed(0)} ms, idle time included (\`(idle)\` below: waiting on PostgreSQL, Redis or Kafka).`,
        '',
        'Self time by area:',
        '',
        ...summary.areas.slice(0, 15).map((a) => `- ${pct(a.share)} ${a.name}`),
      ],
      table: { columns: ['self', 'function'], rows: summary.functions.slice(0, 25).map((f) => [pct(f.share), f.name]) },
    };
    const perEvent = (ms: number) => `${((ms * 1000) / total).toFixed(1)} µs`;
    const wait: Section = {
      title: 'Materializer wall time by store call (same profiled run)',
      text: [
        `Timed from the materializer's side over its whole life (start-up's schema statements included), ${total.toLocaleString('en-US')} events; the consuming window was ${windowMs.toFixed(0)} ms. ` +
          'Statements are labelled by verb and the first skewless table they name, and include node-postgres encoding parameters and parsing results; indented ones run inside the transaction above them.',
      ],
      table: { columns: ['call', 'calls', 'total', 'per event'], rows: [...run.worker.timings, ...outsideStatements(run.worker.timings)].map((t) => [t.name, String(t.calls), ms(t.ms), perEvent(t.ms)]) },
    };
    return { worker: run.worker, sections: [cpu, wait] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
