/**
 * The sorted sets of raw events that Skewless kept per aggregation hash before raw events went to buckets
 * (`{Entity:key}:view:events`, online-pieces.ts), and their retirement.
 *
 * A gateway cannot tell from a request whether an entity still has such a set, and asking Redis costs a
 * ZRANGEBYSCORE per aggregation hash read: about 5% of a one-entity read's time in the store, 29–37% of
 * a 100-entity read's (docs/materializer.md#sorted-sets-retired). So the question is answered once per view,
 * in a marker hash: a materializer prunes every set to what a read can still reach, which empties (and so
 * deletes) the sets whose events have aged out, and marks each view of its registry that has no set left.
 * A gateway reads the marker at start-up and every RAW_EVENTS_LAYOUT_REFRESH_MS after, and leaves the sets
 * of marked views out of its reads. A view not marked (a new Redis, a FLUSHALL, a store an earlier version
 * wrote, a view no materializer has started with yet) has its sets read as before: slower, never wrong.
 */
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './client.ts';

/** A hash: a view's field is RAW_EVENTS_IN_BUCKETS once no sorted set of its raw events is left. */
export const RAW_EVENTS_LAYOUT_KEY = 'skewless:raw-events-layout';
export const RAW_EVENTS_IN_BUCKETS = 'buckets';

/** How often a gateway reads the marker again, ms. */
export const RAW_EVENTS_LAYOUT_REFRESH_MS = 30_000;

/** A glob matching the sorted sets' keys, `{Entity:key}:view:events` (buckets' keys go on past `:events`). */
const SORTED_SETS = '{*}:*:events';

/** The views whose raw events are all in buckets: reads of these need not look for sorted sets. */
export async function viewsInBuckets(client: RedisClient): Promise<Set<string>> {
  const marked = await client.hgetall(RAW_EVENTS_LAYOUT_KEY);
  return new Set(Object.keys(marked).filter((view) => marked[view] === RAW_EVENTS_IN_BUCKETS));
}

/**
 * The view a sorted set's key belongs to: the part after the entity's hash tag, before `:events`.
 * View names hold neither `}` nor `:`, so the last `}:` ends the tag whatever the entity key holds.
 */
export function sortedSetView(key: string): string | undefined {
  if (!key.endsWith(':events')) return undefined;
  const hash = key.slice(0, -':events'.length);
  const tagEnd = hash.lastIndexOf('}:');
  return tagEnd < 0 ? undefined : hash.slice(tagEnd + 2) || undefined;
}

/**
 * Prunes every sorted set of raw events of the views given and not yet marked to the events a read may
 * still fold (those dated at or after the view's `eventFrom`), then marks each of those views that has no
 * set left. Sets of other views, and of views marked already, are left alone; when every view given is
 * marked there is no pass at all. Returns, per view given, how many of its sets are left (none when marked).
 * Each SCAN batch's sets are pruned and counted in one pipeline; `signal` stops the pass between batches,
 * marking nothing. The client must be ready: a cluster client that knows no node yet would scan nothing.
 */
export async function retireSortedSets(client: RedisClient, eventFrom: ReadonlyMap<string, number>, signal?: AbortSignal): Promise<Map<string, number>> {
  const nodes: Redis[] = 'nodes' in client ? (client as Cluster).nodes('master') : [client as Redis];
  if (client.status !== 'ready' || nodes.length === 0) throw new Error(`Redis is not connected (status ${client.status})`);
  const left = new Map([...eventFrom.keys()].map((view) => [view, 0]));
  // A marked view has no set left, and no writer of this version makes one: a pass for marked views alone
  // would walk the whole keyspace (every key, at every materializer start) to find nothing.
  const marked = await viewsInBuckets(client);
  const unmarked = new Map([...eventFrom].filter(([view]) => !marked.has(view)));
  if (unmarked.size === 0) return left;
  for (const node of nodes) {
    for await (const keys of node.scanStream({ match: SORTED_SETS, type: 'zset', count: 1000 }) as AsyncIterable<string[]>) {
      signal?.throwIfAborted();
      const sets = keys.flatMap((key) => {
        const view = sortedSetView(key);
        const from = view === undefined ? undefined : unmarked.get(view);
        return from === undefined ? [] : [{ key, view: view!, from }];
      });
      if (sets.length === 0) continue;
      // Removing a set's last member deletes the key; ZCARD then answers 0.
      const pipeline = node.pipeline();
      for (const { key, from } of sets) pipeline.zremrangebyscore(key, '-inf', `(${from}`).zcard(key);
      const replies = (await pipeline.exec())!;
      sets.forEach(({ view }, i) => {
        const [pruneError] = replies[2 * i]!;
        const [countError, members] = replies[2 * i + 1]!;
        if (pruneError !== null || countError !== null) throw pruneError ?? countError;
        if ((members as number) > 0) left.set(view, left.get(view)! + 1);
      });
    }
  }
  signal?.throwIfAborted();
  const done = [...unmarked.keys()].filter((view) => left.get(view) === 0);
  if (done.length > 0) await client.hset(RAW_EVENTS_LAYOUT_KEY, Object.fromEntries(done.map((view) => [view, RAW_EVENTS_IN_BUCKETS])));
  return left;
}
