/**
 * Reading a snapshot of a source's archive in event-time order, in chunks: what backfill folds.
 *
 * The archive's time index is BRIN (materializer-tables.ts): it can bound a scan to the block ranges of a
 * time range, but it cannot hand rows over in time order, so a keyset page `ts >= last … order by ts
 * limit n` would read and sort everything after `last`, every page. Each page therefore also names an
 * upper bound: the archive is walked in time slabs, [from, to), sized to hold about a page (TimeSlabs).
 * Within a slab the keyset position (event time, then message position) orders the rows and breaks ties.
 */
import { storedValue, toEpochMs } from '../features/time.ts';
import type { EventSource } from '../registry/types.ts';
import type { SqlQueryable } from '../stores/sql/client.ts';
import { ident } from '../stores/sql/history.ts';
import { eventsTable } from '../stores/sql/materializer-tables.ts';
import type { SourceEvent } from './decode.ts';

/**
 * A row of a source's archive (`select *`) as the event it archived; `messageTs` stands in for the Kafka
 * timestamp, which the archive does not keep.
 */
export function archivedEvent(source: EventSource, row: Readonly<Record<string, unknown>>, messageTs: number): SourceEvent {
  const fields: Record<string, unknown> = {};
  for (const f of source.fields) fields[f.name] = storedValue(row[f.name]);
  const eventTs = fields[source.timestampField] as number;
  return { source: source.name, topic: row._topic as string, partition: Number(row._partition), offset: Number(row._offset), eventTs, messageTs, fields };
}

/** Archive partitions and the last offset of each the reader reads. */
export interface Snapshot {
  readonly topics: string[];
  readonly partitions: number[];
  readonly offsets: number[];
}

/**
 * The time slabs a walk over [start, end) reads (pure). A page that comes back full means its slab holds
 * more than a page: the slab ends sooner, one page's time span (or half the slab) past the page's last
 * row. A page that comes back short ends its slab; the next starts where it ended, twice as wide if the
 * page was under half full. Nothing is skipped: every slab starts where the one before ended.
 */
export class TimeSlabs {
  #from: number;
  #to: number;
  readonly #end: number;

  /** Event times [start, end), epoch ms; `width` is the first slab's. */
  constructor(start: number, end: number, width: number) {
    this.#from = start;
    this.#end = end;
    this.#to = Math.min(end, start + Math.max(1, Math.ceil(width)));
  }

  /** The slab to read next, or undefined once the walk is past its end. */
  get current(): { readonly from: number; readonly to: number } | undefined {
    return this.#from >= this.#end ? undefined : { from: this.#from, to: this.#to };
  }

  /**
   * After a page of the current slab: `rows` returned out of at most `limit`, the last at event time
   * `lastTs` (any rows returned). Rows of the slab after the keyset position are read by the next page.
   */
  advance(rows: number, limit: number, lastTs: number | undefined): void {
    const width = this.#to - this.#from;
    if (rows >= limit && lastTs !== undefined) {
      // More remains: read on from the last row's time (ties with it are past the keyset position), over
      // the time span that held this page or half the slab, whichever is longer: a slab far larger than a
      // page is halved page by page, so its pages read about twice its rows in all.
      const span = Math.max(1, lastTs - this.#from, Math.floor(width / 2));
      this.#from = lastTs;
      this.#to = Math.min(this.#to, lastTs + span);
      return;
    }
    this.#from = this.#to;
    this.#to = Math.min(this.#end, this.#from + Math.max(1, rows < limit / 2 ? 2 * width : width));
  }
}

/** The snapshot's archived events of a source in a time range, oldest first, in chunks. */
export class ArchiveReader {
  readonly #source: EventSource;
  readonly #where: string;
  readonly #params: unknown[];
  #after: { ts: string; topic: string; partition: number; offset: number } | undefined;
  #extent: { total: number; first: number; last: number } | undefined;
  #slabs: TimeSlabs | undefined;

  constructor(source: EventSource, range: { from: number | null; to: number | null }, snapshot: Snapshot) {
    this.#source = source;
    const ts = ident(source.timestampField);
    // Only what the snapshot holds: later events are the running materializer's to fold.
    const conditions = [`exists (select 1 from unnest($1::text[], $2::int[], $3::bigint[]) as s(t, p, o) where s.t = _topic and s.p = _partition and _offset <= s.o)`];
    this.#params = [snapshot.topics, snapshot.partitions, snapshot.offsets];
    if (range.from !== null) {
      this.#params.push(new Date(range.from).toISOString());
      conditions.push(`${ts} >= $${this.#params.length}::timestamptz`);
    }
    if (range.to !== null) {
      this.#params.push(new Date(range.to).toISOString());
      conditions.push(`${ts} < $${this.#params.length}::timestamptz`);
    }
    this.#where = conditions.join(' and ');
  }

  /** How many events the reader will return, and their first and last event times. */
  async count(db: SqlQueryable): Promise<number> {
    const ts = ident(this.#source.timestampField);
    const [row] = await db.query<{ n: string | number; first: unknown; last: unknown }>(
      `select count(*) as n, min(${ts}) as first, max(${ts}) as last from ${eventsTable(this.#source.name)} where ${this.#where}`,
      this.#params,
    );
    const total = Number(row!.n);
    this.#extent = { total, first: toEpochMs(row!.first) ?? 0, last: toEpochMs(row!.last) ?? 0 };
    return total;
  }

  /** The next chunk: `limit` events, oldest first, fewer only at the end, none past it. */
  async next(db: SqlQueryable, limit: number, now: number): Promise<SourceEvent[]> {
    if (this.#extent === undefined) await this.count(db);
    const { total, first, last } = this.#extent!;
    if (total === 0) return [];
    // The first slab sized for a page were the events spread evenly over their time span.
    this.#slabs ??= new TimeSlabs(first, last + 1, ((last + 1 - first) * limit) / total);
    const events: SourceEvent[] = [];
    // Short slabs are read on into the same chunk: every chunk (one transaction) but the last is full.
    for (let slab = this.#slabs.current; slab !== undefined && events.length < limit; slab = this.#slabs.current) {
      const page = await this.#page(db, slab, limit - events.length, now);
      this.#slabs.advance(page.length, limit - events.length, page.at(-1)?.eventTs);
      for (const e of page) events.push(e);
    }
    return events;
  }

  async #page(db: SqlQueryable, slab: { from: number; to: number }, limit: number, now: number): Promise<SourceEvent[]> {
    const ts = ident(this.#source.timestampField);
    const params = [...this.#params, new Date(slab.from).toISOString(), new Date(slab.to).toISOString(), limit];
    const n = this.#params.length;
    let where = `${this.#where} and ${ts} >= $${n + 1}::timestamptz and ${ts} < $${n + 2}::timestamptz`;
    if (this.#after !== undefined) {
      const a = this.#after;
      params.push(a.ts, a.topic, a.partition, a.offset);
      where += ` and (${ts}, _topic, _partition, _offset) > ($${n + 4}::timestamptz, $${n + 5}::text, $${n + 6}::int, $${n + 7}::bigint)`;
    }
    const rows = await db.query(`select * from ${eventsTable(this.#source.name)} where ${where} order by ${ts}, _topic, _partition, _offset limit $${n + 3}`, params);
    // The archive keeps no Kafka timestamp: slices are decided by the backfill's clock (backfill.ts).
    const events = rows.map((row) => archivedEvent(this.#source, row, now));
    const lastEvent = events.at(-1);
    if (lastEvent !== undefined) this.#after = { ts: new Date(lastEvent.eventTs).toISOString(), topic: lastEvent.topic, partition: lastEvent.partition, offset: lastEvent.offset };
    return events;
  }
}
