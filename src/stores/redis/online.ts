import { createHash } from 'node:crypto';
import { SkewlessError } from '../../errors.ts';
import { onlineKey } from '../../features/keys.ts';
import { WRITE_IF_NEWER_LUA, decodeRecord, encodeRecord } from '../online-encoding.ts';
import { PIECES_WRITES_PER_CALL, WRITE_PIECES_LUA, bucketMembers, eventBucketKeys, eventsKey, piecesHeader, piecesScriptCall, withoutHeld, writeBucketKeys } from '../online-pieces.ts';
import type { PiecesWrite } from '../online-pieces.ts';
import type { OnlineEntry, OnlineKey, OnlineStore, OnlineWrite } from '../types.ts';
import { createRedisClient } from './client.ts';
import { RAW_EVENTS_LAYOUT_REFRESH_MS, retireSortedSets, viewsInBuckets } from './sorted-sets.ts';
import type { RedisClient, RedisClientOptions, RedisMode } from './client.ts';

/** The pieces script's SHA1, as EVALSHA names it. */
const PIECES_SHA = createHash('sha1').update(WRITE_PIECES_LUA).digest('hex');

type ScriptedClient = RedisClient & {
  skewlessWriteIfNewer(key: string, eventTs: number, createdTs: number, value: string): Promise<number>;
  skewlessWritePieces(keyCount: number, keysThenArgs: (string | number)[]): Promise<number[]>;
};

/**
 * The Redis online store, standalone or Redis Cluster. Reads are MGETs: one for the whole request on a
 * standalone server; on a cluster one per entity (every view of an entity shares a hash slot), sent as one
 * pipeline per node. An aggregation view's pieces are a hash, read with HGETALL issued in the same tick as
 * the MGET, so auto-pipelining sends them together: still one round trip. Writes go through Lua scripts,
 * so only-if-newer is atomic per key.
 */
export class RedisOnlineStore implements OnlineStore {
  readonly kind = 'redis';
  readonly mode: RedisMode;
  readonly client: ScriptedClient;

  /** Hashes per pieces script call. */
  readonly #writesPerCall: number;
  /**
   * The views whose aggregation reads need not look for the sorted set of raw events earlier versions
   * kept: those the store is marked as having none of (sorted-sets.ts), read at start-up and every
   * RAW_EVENTS_LAYOUT_REFRESH_MS after. Empty until then: every view's sets are read.
   */
  #inBuckets: ReadonlySet<string> = new Set();
  /** The latest read of the marker (on connecting, or the periodic one): what waitUntilReady waits for. */
  #layoutRead: Promise<ReadonlySet<string>> = Promise.resolve(new Set());
  readonly #layoutRefresh: NodeJS.Timeout;

  constructor(url: string, mode: RedisMode = 'standalone', options: RedisClientOptions = {}) {
    this.mode = mode;
    this.#writesPerCall = mode === 'cluster' ? 1 : PIECES_WRITES_PER_CALL;
    const client = createRedisClient(url, mode, options);
    client.defineCommand('skewlessWriteIfNewer', { numberOfKeys: 1, lua: WRITE_IF_NEWER_LUA });
    // Any number of keys per call (the first argument says how many), on a standalone server. On a
    // cluster, one hash (and its buckets, in the same slot) per call, by EVALSHA itself (#clusterWritePieces).
    client.defineCommand('skewlessWritePieces', { lua: WRITE_PIECES_LUA });
    this.client = client as ScriptedClient;
    // Connection errors surface through ping() and as per-key errors; without a listener ioredis would
    // report every failed reconnect as an unhandled error event.
    this.client.on('error', () => {});
    this.client.on('ready', () => void this.#readLayout());
    // The server reconnected to may be another (a failover, a restore from before any view was marked):
    // every view's sets are read until its marker says otherwise.
    this.client.on('close', () => (this.#inBuckets = new Set()));
    this.#layoutRefresh = setInterval(() => void this.#readLayout(), RAW_EVENTS_LAYOUT_REFRESH_MS).unref();
  }

  #readLayout(): Promise<ReadonlySet<string>> {
    const read = this.refreshRawEventsLayout();
    this.#layoutRead = read;
    return read;
  }

  /** The views whose reads leave sorted sets out, as last read. */
  get viewsInBuckets(): ReadonlySet<string> {
    return this.#inBuckets;
  }

  /** Resolves once the latest read of the marker, on connecting or the periodic one, is done. */
  async layoutRead(): Promise<void> {
    await this.#layoutRead;
  }

  /**
   * Reads the store's raw-events marker (sorted-sets.ts) and returns the views whose reads leave sorted
   * sets out. On an error it keeps what it knew: the next refresh tries again.
   */
  async refreshRawEventsLayout(): Promise<ReadonlySet<string>> {
    try {
      this.#inBuckets = await viewsInBuckets(this.client);
    } catch {
      // Disconnected: reads report that themselves.
    }
    return this.#inBuckets;
  }

  async retireSortedSets(eventFrom: ReadonlyMap<string, number>, signal?: AbortSignal): Promise<Map<string, number>> {
    await this.waitUntilReady();
    const left = await retireSortedSets(this.client, eventFrom, signal);
    // Writes stop pruning the sets of the views the pass marked now, not at the next refresh.
    await this.#readLayout();
    return left;
  }

  async read(keys: readonly OnlineKey[]): Promise<OnlineEntry[]> {
    if (keys.length === 0) return [];
    const redisKeys = keys.map((k) => onlineKey(k.entity, k.entityKey, k.view));
    if (keys.some((k) => k.pieces === true)) return this.#readMixed(keys, redisKeys);
    if (this.mode === 'standalone') return this.#mget(redisKeys);
    // Cluster: MGET needs one slot, and the hash tag makes that one entity.
    const groups = new Map<string, number[]>();
    keys.forEach((k, i) => {
      const tag = `${k.entity}\u0000${k.entityKey}`;
      const group = groups.get(tag);
      if (group === undefined) groups.set(tag, [i]);
      else group.push(i);
    });
    const out = new Array<OnlineEntry>(keys.length);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const entries = await this.#mget(indexes.map((i) => redisKeys[i]!));
        indexes.forEach((i, j) => (out[i] = entries[j]!));
      }),
    );
    return out;
  }

  /**
   * Row records and aggregation hashes together: one MGET (per entity on a cluster), and per hash one
   * HGETALL and one MGET of the buckets holding the range's raw events (and, until the store is marked as
   * having none for the view, one ZRANGEBYSCORE of the sorted set earlier versions kept them in), all
   * issued in this tick, so auto-pipelining writes them to each node at once.
   */
  async #readMixed(keys: readonly OnlineKey[], redisKeys: readonly string[]): Promise<OnlineEntry[]> {
    const out = new Array<OnlineEntry>(keys.length);
    const records: number[] = [];
    const reads: Promise<void>[] = [];
    keys.forEach((k, i) => {
      if (k.pieces !== true) return void records.push(i);
      // The buckets of the range only: others hold the clock slack's events, which a read at T does not fold.
      const range = k.eventRange;
      const hash = redisKeys[i]!;
      // An empty range (T starts every finest slice) has no events, and MGET would refuse no keys.
      let events: Promise<string[]> = Promise.resolve([]);
      if (range !== undefined && range.from < range.to) {
        const buckets = this.client.mget(eventBucketKeys(hash, range));
        events = this.#inBuckets.has(k.view)
          ? buckets.then((texts) => bucketMembers([], texts))
          : Promise.all([this.client.zrangebyscore(eventsKey(hash), range.from, `(${range.to}`), buckets]).then(([legacy, texts]) => bucketMembers(legacy, texts));
      }
      reads.push(
        Promise.all([this.client.hgetall(hash), events]).then(
          ([pieces, members]) => void (out[i] = { pieces, events: members }),
          (error: unknown) => void (out[i] = unavailable(error)),
        ),
      );
    });
    if (records.length > 0) {
      const groups = this.mode === 'standalone' ? [records] : [...Map.groupBy(records, (i) => `${keys[i]!.entity}\u0000${keys[i]!.entityKey}`).values()];
      for (const group of groups) reads.push(this.#mget(group.map((i) => redisKeys[i]!)).then((entries) => group.forEach((i, j) => (out[i] = entries[j]!))));
    }
    await Promise.all(reads);
    return out;
  }

  async #mget(keys: readonly string[]): Promise<OnlineEntry[]> {
    let values: (string | null)[];
    try {
      values = await this.client.mget(...keys);
    } catch (error) {
      const failure = unavailable(error);
      return keys.map(() => failure);
    }
    return values.map((v) => (v === null ? null : decodeRecord(v)));
  }

  async writeIfNewer(writes: readonly OnlineWrite[]): Promise<(boolean | SkewlessError)[]> {
    // Issued together: auto-pipelining sends them as one pipeline (per node on a cluster).
    return Promise.all(
      writes.map((w) =>
        this.client
          .skewlessWriteIfNewer(onlineKey(w.entity, w.entityKey, w.view), w.eventTs, w.createdTs, encodeRecord(w))
          .then((written) => written === 1, unavailable),
      ),
    );
  }

  /**
   * On a standalone server, several hashes per script call (PIECES_WRITES_PER_CALL) sharing their prune
   * header; on a cluster, one per call. All calls are issued at once (auto-pipelined); a failed call fails
   * each of its writes.
   */
  async writePieces(given: readonly PiecesWrite[]): Promise<(number | SkewlessError)[]> {
    const writes = given.some((w) => w.replay === true && w.events.length > 0) ? await this.#withoutHeld(given) : given;
    const out: (number | SkewlessError)[] = new Array(writes.length);
    const calls = new Map<string, number[]>();
    const pending: { header: string; indexes: number[] }[] = [];
    writes.forEach((w, i) => {
      const header = piecesHeader(w, !this.#inBuckets.has(w.view));
      let indexes = calls.get(header);
      if (indexes === undefined || indexes.length === this.#writesPerCall) calls.set(header, (indexes = []));
      indexes.push(i);
      if (indexes.length === 1) pending.push({ header, indexes });
    });
    await Promise.all(
      pending.map(({ header, indexes }) => {
        const { keys, args } = piecesScriptCall(
          header,
          indexes.map((i) => ({ hash: onlineKey(writes[i]!.entity, writes[i]!.entityKey, writes[i]!.view), write: writes[i]! })),
        );
        // The arguments go as one array, which ioredis flattens into the command, never spread into a call:
        // a commit with many hashes can give a call more arguments than a JavaScript call takes, and
        // ioredis's auto-pipelining spreads them once more (a RangeError there crashed the process).
        const call = this.mode === 'cluster' ? this.#clusterWritePieces(keys, args) : this.client.skewlessWritePieces(keys.length, [...keys, ...args]);
        return call.then(
          (written) => indexes.forEach((i, k) => (out[i] = Number(written[k]))),
          (error: unknown) => indexes.forEach((i) => (out[i] = unavailable(error))),
        );
      }),
    );
    return out;
  }

  /**
   * Replays (PiecesWrite.replay) without the members their buckets hold, read first: by the writer, not
   * inside the script, where parsing a busy entity's buckets (a megabyte each) blocked Redis for tens of
   * milliseconds per write. A replay whose buckets cannot be read is written whole: the reader takes each
   * event once.
   */
  async #withoutHeld(writes: readonly PiecesWrite[]): Promise<PiecesWrite[]> {
    return Promise.all(
      writes.map(async (w) => {
        if (w.replay !== true) return w;
        const keys = writeBucketKeys(onlineKey(w.entity, w.entityKey, w.view), w);
        if (keys.length === 0) return w;
        const held = await this.client.mget(keys).catch(() => []);
        return withoutHeld(w, held);
      }),
    );
  }

  /**
   * The pieces script on a cluster, one hash per call. A script command defined with ioredis is routed by
   * its first argument, which for a variable number of keys is that number, not a key; EVALSHA is a
   * command ioredis knows, routed by its first key (auto-pipelining included). A node that does not hold
   * the script yet answers NOSCRIPT, and EVAL then sends it (and caches it there).
   */
  #clusterWritePieces(keys: readonly string[], args: readonly (string | number)[]): Promise<number[]> {
    const keysThenArgs = [...keys, ...args.map(String)];
    return (this.client.evalsha(PIECES_SHA, keys.length, keysThenArgs) as Promise<number[]>).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.client.eval(WRITE_PIECES_LUA, keys.length, keysThenArgs) as Promise<number[]>;
    });
  }

  /**
   * Resolves once connected and the raw-events marker read, or rejects after `timeoutMs`. The gateway
   * does not wait for this (it starts not-ready and turns ready when Redis answers); tests and one-shot
   * commands do.
   */
  async waitUntilReady(timeoutMs = 10_000): Promise<void> {
    if (this.client.status !== 'ready') await this.#ready(timeoutMs);
    // Connected: the marker's first read was sent then (the 'ready' listener above runs first).
    await this.layoutRead();
  }

  #ready(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error(`Redis did not become ready within ${timeoutMs} ms (status ${this.client.status})`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  async ping(): Promise<void> {
    // Commands are not queued while disconnected (see createRedisClient), so say why instead of
    // surfacing ioredis's "Stream isn't writeable".
    if (this.client.status !== 'ready') throw new Error(`Redis is not connected (status ${this.client.status})`);
    await this.client.ping();
  }

  async close(): Promise<void> {
    clearInterval(this.#layoutRefresh);
    if (this.client.status !== 'end') this.client.disconnect();
  }
}

function unavailable(error: unknown): SkewlessError {
  const reason = error instanceof Error ? error.message : String(error);
  return new SkewlessError('ONLINE_STORE_UNAVAILABLE', `online store unavailable: ${reason}`, { retriable: true, httpStatus: 503, cause: error });
}
