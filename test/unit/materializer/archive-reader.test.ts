/**
 * Reading the archive in time slabs: every event of the snapshot and range once, in (event time,
 * position) order, however the events are spread in time — evenly, in a burst at one instant larger than
 * a page, in clusters a year apart — and in a number of pages that stays near events / page size.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArchiveReader, TimeSlabs } from '../../../src/materializer/archive-reader.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import type { EventSource } from '../../../src/registry/types.ts';
import { pgliteOfflineStore } from '../../../src/stores/pglite/offline.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const T0 = Date.parse('2026-11-21T12:00:00.000Z');
const DAY = 86_400_000;

/** A deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const spreads: { name: string; times: () => number[] }[] = [
  { name: 'even', times: () => Array.from({ length: 1000 }, (_, i) => T0 + i * 997) },
  { name: 'a burst at one instant, larger than a page', times: () => [...Array.from({ length: 300 }, () => T0), ...Array.from({ length: 50 }, (_, i) => T0 + 1 + i * 60_000)] },
  {
    name: 'clusters a year apart',
    times: () => {
      const next = random(7);
      return [...Array.from({ length: 200 }, () => T0 + Math.floor(next() * 1000)), ...Array.from({ length: 200 }, () => T0 + 365 * DAY + Math.floor(next() * 50))];
    },
  },
  {
    name: 'skewed: most events in the last minute of a month',
    times: () => {
      const next = random(11);
      return Array.from({ length: 800 }, () => (next() < 0.9 ? T0 + 30 * DAY - Math.floor(next() * 60_000) : T0 + Math.floor(next() * 30 * DAY)));
    },
  },
  {
    name: 'skewed: most events in the first minute of a month, then a quiet month',
    times: () => {
      const next = random(13);
      return Array.from({ length: 800 }, () => (next() < 0.9 ? T0 + Math.floor(next() * 60_000) : T0 + Math.floor(next() * 30 * DAY)));
    },
  },
  { name: 'one event', times: () => [T0] },
];

describe('TimeSlabs', () => {
  for (const spread of spreads) {
    for (const limit of [1, 7, 50, 5000]) {
      it(`walks ${spread.name} with pages of ${limit}, skipping and repeating nothing`, () => {
        // The archive in read order; a row's index is its keyset position.
        const rows = spread.times().sort((a, b) => a - b);
        const first = rows[0]!;
        const last = rows.at(-1)!;
        const slabs = new TimeSlabs(first, last + 1, ((last + 1 - first) * limit) / rows.length);
        // A bound on the pages (queries): a few per page of rows (a full page halves its slab, a short one
        // ends it), plus the doublings across gaps, the widest of which is the whole span, rows / limit
        // first slabs wide. Pages of one row in sparse stretches come nearest.
        const bound = 3 * Math.ceil(rows.length / limit) + 2 * Math.log2(rows.length) + 4;
        let read = 0;
        let pages = 0;
        for (let slab = slabs.current; slab !== undefined; slab = slabs.current) {
          assert.ok(pages < bound, `more than ${bound} pages for ${rows.length} rows (${read} read)`);
          // What the page's query asks: past the keyset position, inside the slab, at most `limit`.
          assert.ok(read === rows.length || rows[read]! >= slab.from, `the slab from ${slab.from} would skip the row at ${rows[read]}`);
          let n = 0;
          while (n < limit && read + n < rows.length && rows[read + n]! < slab.to) n += 1;
          read += n;
          pages += 1;
          slabs.advance(n, limit, n === 0 ? undefined : rows[read - 1]);
        }
        assert.equal(read, rows.length);
      });
    }
  }
});

describe('ArchiveReader (embedded PostgreSQL)', () => {
  let registry: Registry;
  let source: EventSource;
  let db: Awaited<ReturnType<typeof pgliteOfflineStore>>;

  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type Windows @featureView(entity: "User", source: "Txn") { n_1h: Int! @aggregate(fn: COUNT, window: "1h") }
    `);
    source = registry.source('Txn')!;
    db = await pgliteOfflineStore();
    await db.ensureSchema(registry);
    // The skewed spread, over two partitions of two topics, offsets in arrival order.
    const times = spreads[3]!.times();
    const positions = times.map((_, i) => ({ topic: i % 3 === 0 ? 'a' : 'b', partition: i % 2, offset: i }));
    await db.query(
      `insert into skewless."events_Txn" (_topic, _partition, _offset, user_id, amount, at) select t, p, o, 'u', o, timestamptz 'epoch' + ms * interval '1 millisecond' from unnest($1::text[], $2::int[], $3::bigint[], $4::float8[]) as u(t, p, o, ms)`,
      [positions.map((p) => p.topic), positions.map((p) => p.partition), positions.map((p) => p.offset), times],
    );
  });
  after(async () => {
    await db.close();
  });

  /** The archive's rows, filtered as the reader should, in its order. */
  const expected = async (where: string, params: unknown[]) =>
    (await db.query<{ o: string }>(`select _offset::text as o from skewless."events_Txn" where ${where} order by at, _topic, _partition, _offset`, params)).map((r) => Number(r.o));

  const readAll = async (reader: ArchiveReader, limit: number) => {
    const offsets: number[] = [];
    for (;;) {
      const chunk = await reader.next(db, limit, T0);
      if (chunk.length === 0) return offsets;
      assert.ok(chunk.length === limit || (await reader.next(db, limit, T0)).length === 0, 'only the last chunk is short');
      offsets.push(...chunk.map((e) => e.offset));
    }
  };

  it('reads every event of the snapshot and range once, in event-time and position order', async () => {
    const snapshot = { topics: ['a', 'a', 'b', 'b'], partitions: [0, 1, 0, 1], offsets: [700, 700, 700, 650] };
    const range = { from: T0 + DAY, to: T0 + 30 * DAY - 30_000 };
    const reader = new ArchiveReader(source, range, snapshot);
    const want = await expected(
      `exists (select 1 from unnest($1::text[], $2::int[], $3::bigint[]) as s(t, p, o) where s.t = _topic and s.p = _partition and _offset <= s.o) and at >= $4 and at < $5`,
      [snapshot.topics, snapshot.partitions, snapshot.offsets, new Date(range.from).toISOString(), new Date(range.to).toISOString()],
    );
    assert.ok(want.length > 100 && want.length < 800, `${want.length} events in range`);
    assert.equal(await reader.count(db), want.length);
    assert.deepEqual(await readAll(reader, 23), want);
  });

  it('reads an open range whole, and an empty one as nothing', async () => {
    const snapshot = { topics: ['a', 'a', 'b', 'b'], partitions: [0, 1, 0, 1], offsets: [1e9, 1e9, 1e9, 1e9] };
    assert.deepEqual(await readAll(new ArchiveReader(source, { from: null, to: null }, snapshot), 64), await expected('true', []));
    assert.deepEqual(await readAll(new ArchiveReader(source, { from: T0 - 2 * DAY, to: T0 - DAY }, snapshot), 64), []);
  });
});
