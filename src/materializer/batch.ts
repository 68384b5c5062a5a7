/**
 * One consumed batch → what to write (pure). Called inside the commit transaction, after the batch's
 * partitions are locked, with the offsets already committed for them: messages below those offsets were
 * committed by an earlier batch (a redelivery after a crash or a rebalance) and are dropped here, as is a
 * second copy of a message within the batch, so nothing is archived, folded or counted twice.
 */
import type { FeatureRow } from '../ingest/rows.ts';
import type { Decoded, DeadLetter, MessagePosition, RawMessage, SourceEvent } from './decode.ts';

export interface TimeBounds {
  /** How far before its message's Kafka timestamp an event may be dated and still be accepted, ms. */
  readonly allowedLatenessMs: number;
  /** How far after its message's Kafka timestamp an event may be dated (producer clock skew), ms. */
  readonly maxFutureSkewMs: number;
}

export const DEFAULT_TIME_BOUNDS: TimeBounds = { allowedLatenessMs: 24 * 3_600_000, maxFutureSkewMs: 60_000 };

export interface PartitionNext {
  readonly topic: string;
  readonly partition: number;
  /** The offset after the last message of the partition in this batch. */
  readonly offset: number;
}

export interface BatchWrites {
  /** Raw events to archive and fold, by source. */
  readonly events: ReadonlyMap<string, SourceEvent[]>;
  /** History rows, by row view. */
  readonly rows: ReadonlyMap<string, FeatureRow[]>;
  readonly dead: readonly DeadLetter[];
  /** The offsets to store: where each partition resumes. */
  readonly next: readonly PartitionNext[];
  /** How many messages were already committed and skipped. */
  readonly skipped: number;
}

export const partitionId = (p: { readonly topic: string; readonly partition: number }): string => `${p.topic}/${p.partition}`;

/**
 * `committed` maps `topic/partition` to the next offset already committed. Messages are taken in
 * (partition, offset) order; `decoded[i]` belongs to `messages[i]`.
 */
export function planBatch(messages: readonly RawMessage[], decoded: readonly Decoded[], committed: ReadonlyMap<string, number>, bounds: TimeBounds): BatchWrites {
  const events = new Map<string, SourceEvent[]>();
  const rows = new Map<string, FeatureRow[]>();
  const dead: DeadLetter[] = [];
  const next = new Map<string, PartitionNext>();
  let skipped = 0;
  // Offsets taken so far, per partition: a message delivered twice into one commit (a fetch repeated after
  // a seek) counts once, like one committed before.
  const taken = new Map<string, Set<number>>();
  messages.forEach((message, i) => {
    const id = partitionId(message);
    let offsets = taken.get(id);
    if (offsets === undefined) taken.set(id, (offsets = new Set()));
    if (message.offset < (committed.get(id) ?? 0) || offsets.has(message.offset)) {
      skipped++;
      return;
    }
    offsets.add(message.offset);
    const after = next.get(id);
    if (after === undefined || message.offset + 1 > after.offset) next.set(id, { topic: message.topic, partition: message.partition, offset: message.offset + 1 });
    const item = decoded[i]!;
    if (item.kind === 'dead') dead.push(item.dead);
    else if (item.kind === 'row') push(rows, item.row.view, item.row.row);
    else {
      const late = outOfBounds(item.event, message, bounds);
      if (late === undefined) push(events, item.event.source, item.event);
      else dead.push(late);
    }
  });
  return { events, rows, dead, next: [...next.values()], skipped };
}

/**
 * Judged against the message's Kafka timestamp, not the materializer's clock, so a replay of the same
 * messages accepts and refuses exactly what the first run did.
 */
function outOfBounds(event: SourceEvent, message: RawMessage, bounds: TimeBounds): DeadLetter | undefined {
  const position: MessagePosition = { topic: message.topic, partition: message.partition, offset: message.offset };
  if (event.eventTs < message.timestampMs - bounds.allowedLatenessMs) {
    return { ...position, payload: message.value, reason: 'LATE', message: `event dated ${new Date(event.eventTs).toISOString()}, more than the allowed lateness (${bounds.allowedLatenessMs} ms) before its message (${new Date(message.timestampMs).toISOString()})` };
  }
  if (event.eventTs > message.timestampMs + bounds.maxFutureSkewMs) {
    return { ...position, payload: message.value, reason: 'FUTURE', message: `event dated ${new Date(event.eventTs).toISOString()}, more than the allowed skew (${bounds.maxFutureSkewMs} ms) after its message (${new Date(message.timestampMs).toISOString()})` };
  }
  return undefined;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** Items grouped by key, groups in first-seen order, items in input order. */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) push(out, key(item), item);
  return out;
}
