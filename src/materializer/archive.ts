/**
 * Archiving a batch's raw events inside its commit transaction.
 *
 * The archive refuses a second copy of a message (its key is the message position), because several
 * consumer groups may archive one topic into one database. Refusing costs PostgreSQL a speculative
 * insertion per row (`on conflict do nothing`), the largest single cost of a busy commit. Archive marks
 * avoid it in the common case: per (source, topic, partition), the offset below which the archive may
 * already hold a message, locked and moved by every archiving commit in the same transaction. A batch
 * whose events all sit at or past their marks cannot meet a copy, and is inserted plainly; one that
 * reaches below a mark (a second group catching up, a replay) takes the guarded insert.
 */
import type { Registry } from '../registry/registry.ts';
import type { SqlQueryable } from '../stores/sql/client.ts';
import { advanceArchiveMarksSql, archiveEventsSql, lockArchiveMarksSql } from '../stores/sql/materializer-tables.ts';
import { partitionId } from './batch.ts';
import type { SourceEvent } from './decode.ts';

/** One partition's share of a source's events: its first offset and the offset after its last. */
export interface PartitionSpan {
  readonly topic: string;
  readonly partition: number;
  readonly first: number;
  /** Last offset + 1: where the mark moves to. */
  readonly offset: number;
}

/** Per partition, the span of offsets the events cover (pure). */
export function partitionSpans(events: readonly SourceEvent[]): PartitionSpan[] {
  const spans = new Map<string, { topic: string; partition: number; first: number; offset: number }>();
  let span: { topic: string; partition: number; first: number; offset: number } | undefined;
  for (const e of events) {
    // Events come grouped by partition: a lookup only where the partition changes, not per event.
    if (span === undefined || span.partition !== e.partition || span.topic !== e.topic) {
      const id = partitionId(e);
      span = spans.get(id);
      if (span === undefined) spans.set(id, (span = { topic: e.topic, partition: e.partition, first: e.offset, offset: e.offset + 1 }));
    }
    if (e.offset < span.first) span.first = e.offset;
    if (e.offset + 1 > span.offset) span.offset = e.offset + 1;
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

/**
 * Locks the marks of every source in the batch and sends each source's archive insert and mark move.
 * Resolves once the marks are locked, with `written`, a promise of the inserts (wrapped, since an async
 * function's promise would wait for it): the caller works while PostgreSQL writes them.
 */
export async function archiveEvents(tx: SqlQueryable, registry: Registry, events: ReadonlyMap<string, SourceEvent[]>): Promise<{ written: Promise<unknown> }> {
  const plans: { source: string; spans: PartitionSpan[]; unseen: boolean }[] = [];
  for (const [source, list] of events) {
    if (list.length === 0) continue;
    const spans = partitionSpans(list);
    plans.push({ source, spans, unseen: pastMarks(spans, await lockMarks(tx, source, spans)) });
  }
  const sent = plans.map(({ source, spans, unseen }) => {
    const insert = archiveEventsSql(registry.source(source)!, events.get(source)!, unseen);
    const advance = advanceArchiveMarksSql(source, spans);
    // node-postgres runs a client's queries in order: the mark moves after the insert, in the same transaction.
    return Promise.all([tx.query(insert.sql, insert.params), tx.query(advance.sql, advance.params)]);
  });
  const written = Promise.all(sent);
  // Awaited by the caller later; until then a failure must not count as an unhandled rejection.
  written.catch(() => {});
  return { written };
}

/** `topic/partition` → mark, locked; missing marks are created first (one extra round trip, once per partition). */
async function lockMarks(tx: SqlQueryable, source: string, spans: readonly PartitionSpan[]): Promise<Map<string, number>> {
  const lock = lockArchiveMarksSql(source, spans);
  let rows = await tx.query<{ topic: string; partition: number; next_offset: string | number }>(lock.select.sql, lock.select.params);
  if (rows.length < spans.length) {
    await tx.query(lock.insert.sql, lock.insert.params);
    rows = await tx.query(lock.select.sql, lock.select.params);
  }
  return new Map(rows.map((r) => [partitionId(r), Number(r.next_offset)]));
}
