/**
 * What the materializer benchmark runs against, made fresh for each run and removed after it: the
 * repository's own schema (schema/*.graphql, transforms/) copied to a temporary directory with the
 * Transaction source's topic renamed to one of this run's, plus a row view fed by a probe topic; the two
 * Kafka topics; a PostgreSQL database of its own; and realistic transactions to produce.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kafkaClient } from '../src/ops/kafka-client.ts';
import type { Kafka, Message } from 'kafkajs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ROOT } from './paths.ts';

/** The source topic as schema/sources.graphql names it; the bench renames it, and fails loudly if it moved. */
const SOURCE_TOPIC = 'topic: "transactions"';
/** The row view the freshness probe reads (view name bench_probe). */
export const PROBE_VIEW = 'bench_probe';
export const PARTITIONS = 3;

export interface Fixture {
  /** Short and unique: in topic, group, database and entity names, so nothing is shared with another run. */
  readonly id: string;
  readonly schemaDir: string;
  readonly transformsDir: string;
  readonly transactionsTopic: string;
  readonly probeTopic: string;
  readonly kafka: Kafka;
  readonly brokers: string;
  readonly redisUrl: string;
  /** A fresh database, named after the run, on the server DATABASE_URL points at. */
  readonly databaseUrl: string;
  /** Another fresh database (for a second, profiled run over the same topic: the archive refuses copies). */
  database(suffix: string): Promise<string>;
  /** Consumer groups to delete at the end. */
  readonly groups: string[];
  /** Removes topics, groups, databases, Redis keys and the temporary directory; never throws. */
  dispose(log: (line: string) => void): Promise<void>;
}

export async function createFixture(services: { readonly brokers: string; readonly redisUrl: string; readonly databaseUrl: string }, log: (line: string) => void): Promise<Fixture> {
  const id = `mb${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  const transactionsTopic = `${id}_transactions`;
  const probeTopic = `${id}_probe`;
  const kafka = kafkaClient('skewless-bench', services.brokers.split(','));
  const databases: string[] = [];
  const groups: string[] = [];
  let topicsCreated = false;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skewless-bench-materializer-'));

  const dispose = async (say: (line: string) => void) => {
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        say(`materializer: cleanup: could not ${what}: ${(error as Error).message}`);
      }
    };
    const admin = kafka.admin();
    await attempt('connect to Kafka', () => admin.connect());
    if (groups.length > 0) await attempt(`delete consumer groups ${groups.join(', ')}`, () => admin.deleteGroups([...groups]));
    if (topicsCreated) await attempt('delete the topics', () => admin.deleteTopics({ topics: [transactionsTopic, probeTopic] }));
    await attempt('disconnect from Kafka', () => admin.disconnect());
    // SKEWLESS_BENCH_KEEP_DB: the databases and Redis keys are left for inspection (docs/benchmarks.md).
    if (process.env.SKEWLESS_BENCH_KEEP_DB === undefined) for (const name of databases) await attempt(`drop database ${name}`, () => withServer(services.databaseUrl, (c) => c.query(`drop database if exists ${name} with (force)`)));
    if (process.env.SKEWLESS_BENCH_KEEP_DB === undefined) await attempt('delete the Redis keys', () => deleteKeys(services.redisUrl, `*${id}*`));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const schemaDir = path.join(dir, 'schema');
    await writeSchema(schemaDir, transactionsTopic, probeTopic);
    const database = async (suffix: string) => {
      const name = `${id}${suffix}`;
      await withServer(services.databaseUrl, (c) => c.query(`create database ${name}`));
      databases.push(name);
      const url = new URL(services.databaseUrl);
      url.pathname = `/${name}`;
      return url.toString();
    };
    const databaseUrl = await database('');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [transactionsTopic, probeTopic].map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })), waitForLeaders: true });
      topicsCreated = true;
    } finally {
      await admin.disconnect();
    }
    log(`materializer: run ${id}: topics ${transactionsTopic} and ${probeTopic} (${PARTITIONS} partitions each), database ${id}, schema in ${schemaDir}`);
    return { id, schemaDir, transformsDir: path.join(ROOT, 'transforms'), transactionsTopic, probeTopic, kafka, brokers: services.brokers, redisUrl: services.redisUrl, databaseUrl, database, groups, dispose };
  } catch (error) {
    await dispose(log);
    throw error;
  }
}

/** schema/*.graphql with the source topic renamed, plus the probe row view on its own topic. */
async function writeSchema(dir: string, transactionsTopic: string, probeTopic: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const source = path.join(ROOT, 'schema');
  let renamed = 0;
  for (const name of (await readdir(source)).filter((f) => f.endsWith('.graphql'))) {
    const text = await readFile(path.join(source, name), 'utf8');
    renamed += text.split(SOURCE_TOPIC).length - 1;
    await writeFile(path.join(dir, name), text.replaceAll(SOURCE_TOPIC, `topic: "${transactionsTopic}"`));
  }
  if (renamed !== 1) throw new Error(`expected schema/ to name ${SOURCE_TOPIC} once (the Transaction source), found it ${renamed} times: update bench/materializer-fixture.ts`);
  await writeFile(
    path.join(dir, 'bench_probe.graphql'),
    `"Freshness probe of the materializer benchmark: one row per probe message, seq counting up."\ntype BenchProbe @featureView(entity: "User", topic: "${probeTopic}") {\n  seq: Int\n}\n`,
  );
}

async function withServer<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Calls `each` with every batch of keys matching `pattern` (SCAN), on a connection of its own. */
export async function scanKeys(url: string, pattern: string, each: (redis: Redis, keys: string[]) => Promise<void>): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await each(redis, keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

const deleteKeys = (url: string, pattern: string): Promise<void> => scanKeys(url, pattern, async (redis, keys) => void (await redis.del(...keys)));

export interface Population {
  readonly users: number;
  readonly merchants: number;
}

export const POPULATION: Population = { users: 5000, merchants: 300 };
const COUNTRIES = ['DE', 'FR', 'GB', 'US', 'NL', 'ES', 'IT', 'PL'];

/**
 * Transactions `from`…`from + count − 1`, keyed by user: users uniform over the population, merchants
 * skewed (a few popular ones take most payments), amounts log-normal-ish, a country on most, and
 * event_time up to 5 minutes before now (inside the materializer's lateness and skew bounds). A seeded
 * generator, so every run produces the same stream apart from the times.
 */
export function transactions(id: string, from: number, count: number, population: Population = POPULATION): Message[] {
  const messages: Message[] = [];
  const now = Date.now();
  for (let i = from; i < from + count; i++) {
    const r = (k: number) => hash01(i * 4 + k);
    const user = `${id}-u${Math.floor(r(0) * population.users)}`;
    const merchant = `${id}-m${Math.floor(r(1) ** 2 * population.merchants)}`;
    const amount = Math.round(Math.exp(2 + 3 * r(2)) * 100) / 100;
    const event: Record<string, unknown> = { user_id: user, merchant_id: merchant, amount, event_time: new Date(now - Math.floor(r(3) * 300_000)).toISOString() };
    if (i % 10 !== 0) event.country = COUNTRIES[i % COUNTRIES.length];
    messages.push({ key: user, value: JSON.stringify(event) });
  }
  return messages;
}

/** A deterministic number in [0, 1) from an integer (a 32-bit integer hash). */
function hash01(n: number): number {
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
