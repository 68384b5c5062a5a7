/**
 * The materializer's JavaScript per commit, without the services: for comparing two versions of the code
 * on a machine whose speed drifts more between whole-bench runs than most changes move it.
 *
 *   node bench/commit-js.ts [TREE …]     (default: this repository; e.g. a `git worktree` of the commit before)
 *   CHECK=1 node bench/commit-js.ts A B  only compares what each tree sends to the stores (a digest)
 *   USERS=1000000 node bench/commit-js.ts …  the stream of many users (default 5,000, as the bench's `--users`)
 *
 * Each round folds the bench's own transactions (bench/materializer-fixture.ts: 10 commits of 25,000,
 * 5,000 users, 300 merchants) through each tree's commitOffline and its online pieces, as
 * `skewless materialize` does, with a fresh piece cache per round. The SQL goes to a fake transaction that
 * answers the few statements whose rows the commit reads (offsets, archive marks, tile and slice rows,
 * which it keeps: a row inserted before is refused and read as PostgreSQL would answer), and the
 * Redis writes go through the product's RedisOnlineStore.writePieces to a client that only encodes each
 * script call (ioredis's Command) instead of sending it. What it counts: the main thread's CPU time
 * (process.threadCpuUsage) over the last 8 commits of each round, per event, so neither V8's collector
 * threads nor the databases add their noise. Trees alternate round by round, in one process; the table
 * gives each tree's median. A change of a few percent shows here when the full bench (bench/materializer.ts)
 * cannot tell it from the machine.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './paths.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const USERS = process.env.USERS === undefined ? undefined : Number(process.env.USERS);
const COMMITS = 10;
const PER_COMMIT = 25_000;
/** Commits per round left out of the figure: the first ones compile the code and fill the piece cache. */
const WARM_COMMITS = 2;

// ioredis's command encoding, which its public API only reaches through a connection.
const Command = createRequire(path.join(ROOT, 'package.json'))('ioredis/built/Command.js').default as new (name: string, args: unknown[]) => { toWritable(socket: unknown): string | Buffer };

/* eslint-disable @typescript-eslint/no-explicit-any -- each tree's modules are loaded by path, untyped */
interface Tree {
  readonly root: string;
  readonly registry: any;
  readonly m: Record<'decode' | 'commit' | 'batch' | 'cache' | 'redis' | 'fixture', any>;
}

async function load(root: string): Promise<Tree> {
  const from = (file: string) => import(path.join(root, file));
  const [config, load, decode, commit, batch, cache, redis, fixture] = await Promise.all(
    ['src/config/config.ts', 'src/registry/load.ts', 'src/materializer/decode.ts', 'src/materializer/commit.ts', 'src/materializer/batch.ts', 'src/materializer/piece-cache.ts', 'src/stores/redis/online.ts', 'bench/materializer-fixture.ts'].map(from),
  );
  const loaded = await load.loadRegistry(config.resolveConfig({ schemaDir: path.join(root, 'schema'), transformsDir: path.join(root, 'transforms') }, {}));
  if (!loaded.ok) throw new Error(`${root}: the registry does not load`);
  return { root, registry: loaded.registry, m: { decode, commit, batch, cache, redis, fixture } };
}

/**
 * The tree's RedisOnlineStore, its connection closed at once, whose pieces script calls are encoded as
 * ioredis would send them and answered "nothing written". Arguments are flattened as ioredis's Command does.
 */
async function encodingOnlineStore(tree: Tree): Promise<{ writePieces(writes: unknown[]): Promise<unknown[]> }> {
  const store = new tree.m.redis.RedisOnlineStore('redis://127.0.0.1:1');
  await store.close();
  store.client.skewlessWritePieces = async (keyCount: number, ...rest: unknown[]) => {
    new Command('evalsha', ['0'.repeat(40), keyCount, ...rest.flat()]).toWritable(null);
    // An answer per write at least: a write has two keys or more (its buckets too, since 2026-11-22).
    return new Array(keyCount).fill(0);
  };
  return store;
}

/** Array literals as materializer-tables.ts writes them (`{"a","b"}`, `{1,2}`): enough for the keys it sends. */
const textArray = (literal: string) => [...literal.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
const numberArray = (literal: string) => literal.slice(1, -1).split(',').map(Number);

/**
 * Stores whose transaction answers what commitOffline reads back, and nothing else. The tile and slice rows
 * are kept (key → partial text and version), so a row inserted before is refused and read under its lock
 * as PostgreSQL would answer, and a save at a stale version is not made: a piece cache that keeps fewer rows
 * pays here for the reads it causes.
 */
function fakeStores() {
  const offsets = new Map<string, number>();
  // The rows' texts only when checking: kept, a run's rows (hundreds of MB with many users) would make the
  // collector's work here unlike the process's, which keeps them in PostgreSQL. Otherwise a row reads as
  // empty, which costs the merge about what its partials would.
  const keepText = process.env.CHECK === '1';
  const pieces = new Map<string, { partial: string; version: number }>();
  const rows = (topics: string[], partitions: number[], next: (id: string) => number) => topics.map((topic, i) => ({ topic, partition: partitions[i], next_offset: next(`${topic}/${partitions[i]}`) }));
  const keysOf = (sql: string, params: any[]) => {
    const table = /skewless\."[^"]+"/.exec(sql)![0];
    const [keys, widths, starts] = [textArray(params[0]), numberArray(params[1]), numberArray(params[2])];
    return keys.map((entity_key, i) => ({ id: `${table}|${entity_key}|${widths[i]}|${starts[i]}`, entity_key, width: widths[i]!, tile_start: starts[i]! }));
  };
  const tx = {
    async query(sql: string, params: any[] = []): Promise<unknown[]> {
      if (sql.startsWith('select topic, partition, next_offset from skewless.consumer_offsets')) return rows(params[1], params[2], (id) => offsets.get(id) ?? 0);
      if (sql.startsWith('select topic, partition, next_offset from skewless.archive_marks')) return rows(params[1], params[2], () => 0);
      if (sql.startsWith('update skewless.consumer_offsets')) {
        (params[1] as string[]).forEach((topic, i) => offsets.set(`${topic}/${params[2][i]}`, params[3][i]));
        return [];
      }
      // New tile and slice rows: those not kept yet inserted, the rest refused. Answered as the tree's SQL
      // asks: a count and the refused keys (since 9d1057d), or every key inserted.
      if (sql.includes('(entity_key, width, tile_start, partial, version)') && sql.includes('on conflict do nothing returning')) {
        const partials = (params[3] as string).split('\u001e');
        const inserted: ReturnType<typeof keysOf> = [];
        const refused: ReturnType<typeof keysOf> = [];
        keysOf(sql, params).forEach((key, i) => {
          if (pieces.has(key.id)) return void refused.push(key);
          pieces.set(key.id, { partial: keepText ? partials[i]! : '{}', version: Number(params[4]) });
          inserted.push(key);
        });
        if (!sql.includes(' as inserted')) return inserted.map(({ entity_key, width, tile_start }) => ({ entity_key, width, tile_start }));
        if (refused.length === 0) return [{ inserted: inserted.length, keys: null, widths: null, starts: null }];
        return [{ inserted: inserted.length, keys: refused.map((k) => k.entity_key), widths: refused.map((k) => k.width), starts: refused.map((k) => k.tile_start) }];
      }
      // Saves at the version cached: the keys not saved (missing, or at another version) come back.
      if (sql.startsWith('with locked as materialized') && sql.includes('saved as (update')) {
        const [partials, expected] = [(params[3] as string).split('\u001e'), numberArray(params[4])];
        const unsaved: { entity_key: string; width: number; tile_start: number }[] = [];
        keysOf(sql, params).forEach((key, i) => {
          const row = pieces.get(key.id);
          if (row === undefined || row.version !== expected[i]) unsaved.push({ entity_key: key.entity_key, width: key.width, tile_start: key.tile_start });
          else pieces.set(key.id, { partial: keepText ? partials[i]! : '{}', version: row.version + 1 });
        });
        return unsaved;
      }
      // Rows read under their lock: as kept.
      if (sql.includes('partial, version::float8 as version') && sql.includes('for update')) {
        return keysOf(sql, params).flatMap(({ id, entity_key, width, tile_start }) => {
          const row = pieces.get(id);
          return row === undefined ? [] : [{ entity_key, width, tile_start, partial: row.partial, version: row.version }];
        });
      }
      // Rows saved after a read: kept as written.
      if (sql.startsWith('update skewless."') && sql.includes('set partial = u.p, version = u.v from')) {
        const [partials, versions] = [(params[3] as string).split('\u001e'), numberArray(params[4])];
        keysOf(sql, params).forEach((key, i) => pieces.set(key.id, { partial: keepText ? partials[i]! : '{}', version: versions[i]! }));
        return [];
      }
      // Everything else answers nothing.
      return [];
    },
    copyBinary: async (_target: string, data: Uint8Array) => data.length,
  };
  // Outside a transaction: the heads read of raw events owed (raw-events-owed.ts), answered with none.
  return { offline: { transaction: async (fn: (t: typeof tx) => Promise<unknown>) => fn(tx), query: async () => [] } };
}

interface Message {
  readonly value: string;
  readonly timestampMs: number;
}

/** One round of COMMITS commits; main-thread µs per event of the counted ones. `digest`: fed what goes to the stores. */
async function round(tree: Tree, commits: readonly Message[][], digest?: ReturnType<typeof createHash>): Promise<number> {
  const { decode, commit, batch, cache } = tree.m;
  const online = await encodingOnlineStore(tree);
  const route = { kind: 'source', source: tree.registry.sources.find((s: any) => s.name === 'Transaction') };
  const stores = fakeStores();
  const pieceCache = new cache.PieceCache(cache.DEFAULT_PIECE_CACHE_ROWS);
  let micros = 0;
  let events = 0;
  let offset = 0;
  for (let c = 0; c < commits.length; c++) {
    const started = process.threadCpuUsage();
    const messages = commits[c]!.map((m, i) => ({ topic: 'transactions', partition: i % 3, offset: offset + Math.floor(i / 3), value: m.value, timestampMs: m.timestampMs }));
    const decoded = messages.map((m) => decode.decodeMessage(tree.registry, route, m));
    const committed = await commit.commitOffline(tree.registry, stores, 'commit-js', messages, decoded, batch.DEFAULT_TIME_BOUNDS, Date.now(), pieceCache);
    const owed = await committed.online();
    const answers = await online.writePieces(owed.pieces);
    // An answer that is an error means the call reached the closed connection, not the encoder.
    if (answers.some((a) => a instanceof Error)) throw new Error(`${tree.root}: a pieces write was not encoded: ${answers.find((a) => a instanceof Error)}`);
    const used = process.threadCpuUsage(started);
    if (digest !== undefined) {
      // Per commit, in an order of their own: the order of an entity's writes within a commit is not what
      // the stores keep (a row read under its lock comes after the rows written as planned).
      const lines: string[] = [];
      for (const w of owed.pieces) {
        const entity = `${w.view}|${w.entityKey}`;
        for (const f of w.fields) lines.push(`${entity} ${f.name}=${f.value}`);
        for (const e of w.events) lines.push(`${entity} ${e.time}:${e.member}`);
      }
      for (const line of lines.sort()) digest.update(line);
    }
    offset += Math.ceil(messages.length / 3);
    if (c >= WARM_COMMITS) {
      micros += used.user + used.system;
      events += messages.length;
    }
  }
  return micros / events;
}

const trees = await Promise.all((process.argv.length > 2 ? process.argv.slice(2) : [ROOT]).map((root) => load(path.resolve(root))));
const sentAt = Date.now();
const commits: Message[][] = Array.from({ length: COMMITS }, (_, c) =>
  trees[0]!.m.fixture.transactions('mbcommitjs', c * PER_COMMIT, PER_COMMIT, { ...trees[0]!.m.fixture.POPULATION, users: USERS ?? trees[0]!.m.fixture.POPULATION.users }).map((m: any) => ({ value: m.value as string, timestampMs: sentAt })),
);

if (process.env.CHECK === '1') {
  for (const tree of trees) {
    const digest = createHash('sha256');
    await round(tree, commits, digest);
    console.log(`${tree.root}: ${digest.digest('hex')}`);
  }
} else {
  const figures = trees.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which tree goes first.
    for (let i = 0; i < trees.length; i++) {
      const t = r % 2 === 0 ? i : trees.length - 1 - i;
      figures[t]!.push(await round(trees[t]!, commits));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log('| tree | main-thread CPU per event, median | rounds |\n| --- | --- | --- |');
  trees.forEach((tree, i) => console.log(`| ${tree.root} | ${median(figures[i]!).toFixed(2)} µs | ${figures[i]!.map((x) => x.toFixed(1)).join(', ')} |`));
}
