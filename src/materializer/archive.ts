/**
 * Archiving a batch's raw events inside its commit transaction.
 *
 * The archive refuses a second copy of a message (its key is the message position), because several
 * consumer groups may archive one topic into one database. Refusing (`on conflict do nothing`, a
 * speculative insertion per row) costs about a fifth of the archive insert, itself the largest single
 * cost of a busy commit. Archive marks avoid it in the common case: per (source, topic, partition), the
 * offset below which the archive may already hold a message, locked and moved by every archiving commit
 * in the same transaction.
 *
 * A batch whose events all sit at or past their marks cannot meet a copy, and goes in by COPY (binary, no
 * conflict check; against the plain insert it replaced, about a tenth less of PostgreSQL's work per event
 * and half the encoding, docs/materializer.md). One that reaches below a mark (a second consumer group
 * catching up) takes the guarded insert, which says which events it archived: only those are folded into
 * tiles, so two groups sharing a database count each message once between them.
 */
import type { Registry } from '../registry/registry.ts';
import type { EventSource } from '../registry/types.ts';
import type { SqlQueryable, SqlTransaction } from '../stores/sql/client.ts';
import { advanceArchiveMarksSql, archiveCopy, archiveEventsSql, lockArchiveMarksSql } from '../stores/sql/materializer-tables.ts';
import type { ArchivedSpan } from '../stores/sql/materializer-tables.ts';
import { partitionId } from './batch.ts';
import type { SourceEvent } from './decode.ts';

/** One partition's share of a source's events: its first offset, the offset after its last, its newest event time. */
export interface PartitionSpan extends ArchivedSpan {
  readonly first: number;
}

/** A span while it is being measured. */
type Growing<T> = { -readonly [K in keyof T]: T[K] };

/** Per partition, the span of offsets the events cover and their newest event time (pure). */
export function partitionSpans(events: readonly SourceEvent[]): PartitionSpan[] {
  const spans = new Map<string, Growing<PartitionSpan>>();
  let span: Growing<PartitionSpan> | undefined;
  for (const e of events) {
    // Events come grouped by partition: a lookup only where the partition changes, not per event.
    if (span === undefined || span.partition !== e.partition || span.topic !== e.topic) {
      const id = partitionId(e);
      span = spans.get(id);
      if (span === undefined) spans.set(id, (span = { topic: e.topic, partition: e.partition, first: e.offset, offset: e.offset + 1, newest: e.eventTs }));
    }
    if (e.offset < span.first) span.first = e.offset;
    if (e.offset + 1 > span.offset) span.offset = e.offset + 1;
    if (e.eventTs > span.newest) span.newest = e.eventTs;
  }
  return [...spans.values()];
}

/** Whether no event can already be archived: each partition's first offset is at or past its mark (pure). */
export function pastMarks(spans: readonly PartitionSpan[], marks: ReadonlyMap<string, number>): boolean {
  return spans.every((s) => {
    const mark = marks.get(partitionId(s));
    return mark !== undefined && s.first >= mark;
  });
}

/** A batch's archive inserts, sent. */
export interface Archiving {
  /** Whether every event was past its marks, so that all of them are new to the archive. */
  readonly allNew: boolean;
  /**
   * Resolves once PostgreSQL has archived them, with the events this commit archived, by source: all of
   * them, or (when some were not past their marks) those no other consumer group archived first. Those
   * were folded by that group's commit, in the same transaction as its archive insert, and must not be
   * folded again.
   */
  readonly archived: Promise<ReadonlyMap<string, SourceEvent[]>>;
}

/**
 * Locks the marks of every source in the batch and sends each source's archive insert and mark move.
 * Resolves once the marks are locked: the caller works while PostgreSQL writes the events.
 */
export async function archiveEvents(tx: SqlTransaction, registry: Registry, events: ReadonlyMap<string, SourceEvent[]>): Promise<Archiving> {
  const plans: { source: string; list: SourceEvent[]; spans: PartitionSpan[]; unseen: boolean }[] = [];
  for (const [source, list] of events) {
    if (list.length === 0) continue;
    const spans = partitionSpans(list);
    plans.push({ source, list, spans, unseen: pastMarks(spans, await lockMarks(tx, registry.source(source)!, spans)) });
  }
  const sent = plans.map(async ({ source, list, spans, unseen }): Promise<[string, SourceEvent[]]> => {
    if (unseen) {
      // COPY first: it is sent at once and runs during the caller's fold. The marks' move, queued behind
      // it, is sent when the process next reads PostgreSQL's answers: one short round trip after the fold.
      const { target, data } = archiveCopy(registry.source(source)!, list);
      const move = advanceArchiveMarksSql(source, spans);
      await Promise.all([tx.copyBinary(target, data), tx.query(move.sql, move.params)]);
      return [source, list];
    }
    // The guarded insert moves the marks in the same statement: a second one would be sent only once the
    // first answered, which is after the caller's fold, since the caller keeps the process busy meanwhile.
    const { sql, params } = archiveEventsSql(registry.source(source)!, list, spans);
    const inserted = await tx.query<{ _topic: string; _partition: number; _offset: string | number }>(sql, params);
    return [source, newlyArchived(list, inserted)];
  });
  const archived = Promise.all(sent).then((entries) => new Map(entries));
  // Awaited by the caller later; until then a failure must not count as an unhandled rejection.
  archived.catch(() => {});
  return { allNew: plans.every((p) => p.unseen), archived };
}

/** The events whose positions the guarded insert returned (pure). */
export function newlyArchived(events: readonly SourceEvent[], inserted: readonly { _topic: string; _partition: number; _offset: string | number }[]): SourceEvent[] {
  if (inserted.length === events.length) return [...events];
  const positions = new Set(inserted.map((r) => `${r._topic}/${r._partition}/${r._offset}`));
  return events.filter((e) => positions.has(`${e.topic}/${e.partition}/${e.offset}`));
}

/** `topic/partition` → mark, locked; missing marks are created first (one extra round trip, once per partition). */
async function lockMarks(tx: SqlQueryable, source: EventSource, spans: readonly PartitionSpan[]): Promise<Map<string, number>> {
  const lock = lockArchiveMarksSql(source, spans);
  let rows = await tx.query<{ topic: string; partition: number; next_offset: string | number }>(lock.select.sql, lock.select.params);
  if (rows.length < spans.length) {
    await tx.query(lock.insert.sql, lock.insert.params);
    rows = await tx.query(lock.select.sql, lock.select.params);
  }
  return new Map(rows.map((r) => [partitionId(r), Number(r.next_offset)]));
}
