/** Committing a topic's messages through the materializer's own commit, on embedded stores (PGlite, memory). */
import { DEFAULT_TIME_BOUNDS } from '../../src/materializer/batch.ts';
import { commitBatch } from '../../src/materializer/commit.ts';
import type { CommitResult } from '../../src/materializer/commit.ts';
import { decodeMessage, topicRoutes } from '../../src/materializer/decode.ts';
import type { RawMessage } from '../../src/materializer/decode.ts';
import type { PieceCache } from '../../src/materializer/piece-cache.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { SqlClient } from '../../src/stores/sql/client.ts';

/** Fresh embedded stores with the registry's schema; each offline store is added to `opened`, for the caller to close. */
export async function openEmbeddedStores(registry: Registry, opened: SqlClient[]): Promise<Stores> {
  const offline = await pgliteOfflineStore();
  opened.push(offline);
  await offline.ensureSchema(registry);
  return { online: new MemoryOnlineStore(), offline };
}

/** A message body and its Kafka timestamp. */
export interface Produced {
  readonly body: Readonly<Record<string, unknown>>;
  readonly timestampMs: number;
}

/**
 * Numbers messages on one partition of `topic`, offsets following on from each call's (per `counter`), and
 * commits them as one batch of consumer group `g` at the materializer's clock `now`.
 */
export function commitProduced(registry: Registry, stores: Stores, topic: string, produced: readonly Produced[], counter: { offset: number }, now: number, cache?: PieceCache): Promise<CommitResult> {
  const messages: RawMessage[] = produced.map((p) => ({ topic, partition: 0, offset: counter.offset++, value: JSON.stringify(p.body), timestampMs: p.timestampMs }));
  const route = topicRoutes(registry).get(topic)!;
  return commitBatch(registry, stores, 'g', messages, messages.map((m) => decodeMessage(registry, route, m)), DEFAULT_TIME_BOUNDS, now, cache);
}

/** Time units, and the noon (2026-11-21 12:00 UTC) the embedded commit tests date their events around. */
export const S = 1000;
export const M = 60 * S;
export const H = 60 * M;
export const T0 = Date.UTC(2026, 10, 21, 12);
/** `minutes` and `seconds` after T0 (negative: before). */
export const at = (minutes: number, seconds = 0): number => T0 + minutes * M + seconds * S;

/**
 * Commits events as commitProduced does, each produced at its own time (`time`) with the body `bodyOf`
 * gives it, at the materializer's clock `clock`, by default ten seconds after the last event.
 */
export function commitAtTheirTimes<E extends { readonly time: number }>(registry: Registry, stores: Stores, topic: string, events: readonly E[], bodyOf: (event: E) => Readonly<Record<string, unknown>>, counter: { offset: number }, cache?: PieceCache, clock?: number): Promise<CommitResult> {
  const produced = events.map((e) => ({ body: bodyOf(e), timestampMs: e.time }));
  return commitProduced(registry, stores, topic, produced, counter, clock ?? Math.max(...events.map((e) => e.time)) + 10 * S, cache);
}
