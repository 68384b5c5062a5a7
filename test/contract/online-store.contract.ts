/**
 * The OnlineStore contract: every implementation (memory, Redis standalone, Redis Cluster) passes the
 * same cases. Each case uses fresh entity keys, so stores need no flushing between cases.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SkewlessError } from '../../src/errors.ts';
import { PRUNED_AT, encodePiece, onlineEvent, parseOnlineEvent, sliceField, tileField } from '../../src/stores/online-pieces.ts';
import type { PiecesWrite, PruneBounds } from '../../src/stores/online-pieces.ts';
import type { OnlineKey, OnlineRecord, OnlineStore, OnlineWrite } from '../../src/stores/types.ts';

export interface OnlineStoreFactory {
  /** A store; for concurrency cases, called more than once to get independent clients of one store. */
  open(): Promise<OnlineStore>;
}

const fresh = () => randomUUID().slice(0, 8);
const key = (entityKey: string, view = 'stats_a', entity = 'User'): OnlineKey => ({ view, entity, entityKey });
const write = (k: OnlineKey, eventTs: number, createdTs: number, values: Record<string, unknown> = { a_int: eventTs % 1000 }): OnlineWrite => ({ ...k, eventTs, createdTs, values });
/** A plain copy of a read entry, for deepEqual (errors fail the assertion with their message). */
const plain = (r: unknown): OnlineRecord | null => {
  if (r instanceof Error) assert.fail(r.message);
  return r === null ? null : { eventTs: (r as OnlineRecord).eventTs, createdTs: (r as OnlineRecord).createdTs, values: { ...(r as OnlineRecord).values } };
};

export function onlineStoreContract(name: string, factory: OnlineStoreFactory): void {
  describe(`OnlineStore contract: ${name}`, () => {
    let store: OnlineStore;
    const extra: OnlineStore[] = [];

    before(async () => {
      store = await factory.open();
    });
    after(async () => {
      await Promise.all([store, ...extra].map((s) => s.close()));
    });

    it('answers one entry per key, in order, null where nothing is stored', async () => {
      const [a, b] = [fresh(), fresh()];
      await store.writeIfNewer([write(key(b), 1000, 1000, { a_int: 7 })]);
      const entries = await store.read([key(a), key(b), key(a, 'stats_b')]);
      assert.equal(entries.length, 3);
      assert.equal(entries[0], null);
      assert.deepEqual(plain(entries[1]), { eventTs: 1000, createdTs: 1000, values: { a_int: 7 } });
      assert.equal(entries[2], null);
      assert.deepEqual(await store.read([]), []);
    });

    it('round-trips values of every type exactly', async () => {
      const k = key(fresh(), 'all_types');
      const values = {
        t_int: -2147483648,
        t_float: 0.1 + 0.2,
        t_string: 'naïve | {brace} "quoted" \u0000 ✓',
        t_bool: false,
        t_id: '0042',
        t_time: Date.UTC(2026, 10, 21, 5, 31, 9, 123),
        t_json: { nested: [1, 'two', null, { deep: true }] },
        t_list: [1.5, -0, 1e300, 5e-324],
        t_required: 0,
        missing_later: null,
      };
      assert.deepEqual(await store.writeIfNewer([write(k, 1_763_703_069_123, 1_763_703_069_456, values)]), [true]);
      const [entry] = await store.read([k]);
      assert.deepEqual(plain(entry), { eventTs: 1_763_703_069_123, createdTs: 1_763_703_069_456, values: JSON.parse(JSON.stringify(values)) });
    });

    it('keeps a newer value when an older one arrives later', async () => {
      const k = key(fresh());
      assert.deepEqual(await store.writeIfNewer([write(k, 2000, 2000, { a_int: 2 })]), [true]);
      assert.deepEqual(await store.writeIfNewer([write(k, 1000, 9000, { a_int: 1 })]), [false]);
      assert.deepEqual(plain((await store.read([k]))[0]), { eventTs: 2000, createdTs: 2000, values: { a_int: 2 } });
    });

    it('breaks equal event times by created time, and exact ties by the later write', async () => {
      const k = key(fresh());
      await store.writeIfNewer([write(k, 5000, 100, { a_int: 1 })]);
      assert.deepEqual(await store.writeIfNewer([write(k, 5000, 200, { a_int: 2 })]), [true]);
      assert.deepEqual(await store.writeIfNewer([write(k, 5000, 150, { a_int: 3 })]), [false]);
      assert.deepEqual(await store.writeIfNewer([write(k, 5000, 200, { a_int: 4 })]), [true]);
      assert.deepEqual(plain((await store.read([k]))[0])?.values, { a_int: 4 });
    });

    it('ends on the newest row whatever order rows arrive in', async () => {
      const k = key(fresh());
      const rows = Array.from({ length: 40 }, (_, i) => write(k, 1000 + (i % 10) * 100, 1000 + i, { a_int: i }));
      const newest = rows.reduce((best, r) => (r.eventTs > best.eventTs || (r.eventTs === best.eventTs && r.createdTs > best.createdTs) ? r : best));
      for (const r of [...rows].sort(() => Math.random() - 0.5)) await store.writeIfNewer([r]);
      assert.deepEqual(plain((await store.read([k]))[0])?.values, newest.values);
    });

    it('lets no older value win between concurrent writers', async () => {
      const writers = [store, ...(await Promise.all([factory.open(), factory.open()]))];
      extra.push(...writers.slice(1));
      const keys = Array.from({ length: 10 }, () => key(fresh()));
      const rows = keys.flatMap((k) => Array.from({ length: 30 }, (_, i) => write(k, 10_000 + ((i * 7) % 30) * 10, 1, { a_int: (i * 7) % 30 })));
      // Every writer sends every row, interleaved, all at once.
      await Promise.all(writers.flatMap((w) => [...rows].sort(() => Math.random() - 0.5).map((r) => w.writeIfNewer([r]))));
      const entries = await store.read(keys);
      for (const entry of entries) assert.deepEqual(plain(entry), { eventTs: 10_290, createdTs: 1, values: { a_int: 29 } });
    });

    it('keeps views, entities and composite keys apart', async () => {
      const id = fresh();
      const ks = [key(id, 'stats_a'), key(id, 'stats_b'), key(id, 'stats_a', 'Device'), key(JSON.stringify([id, 'm1']), 'pair_stats', 'UserMerchant'), key(JSON.stringify([id, 'm2']), 'pair_stats', 'UserMerchant')];
      await store.writeIfNewer(ks.map((k, i) => write(k, 1000, 1000, { n: i })));
      const entries = await store.read(ks);
      assert.deepEqual(entries.map((e) => (e as OnlineRecord).values.n), [0, 1, 2, 3, 4]);
    });

    it('writes a batch in one call, reporting each write', async () => {
      const k = key(fresh());
      const results = await store.writeIfNewer([write(k, 3000, 1), write(key(fresh()), 1, 1), write(k, 2000, 1)]);
      assert.deepEqual(results, [true, true, false]);
    });

    it('reads many keys in one call', async () => {
      const ks = Array.from({ length: 300 }, (_, i) => key(`${fresh()}-${i}`, ['stats_a', 'stats_b', 'stats_c'][i % 3]!));
      await store.writeIfNewer(ks.filter((_, i) => i % 2 === 0).map((k, i) => write(k, 1000 + i, 1)));
      const entries = await store.read(ks);
      assert.equal(entries.length, 300);
      entries.forEach((e, i) => {
        assert.ok(!(e instanceof SkewlessError));
        assert.equal(e === null, i % 2 === 1, `entry ${i}`);
      });
    });

    describe('aggregation pieces', () => {
      const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
      const pieceKey = (entityKey: string): OnlineKey => ({ view: 'agg_a', entity: 'User', entityKey, pieces: true });
      // A raw event in the hash, as versions before the events' sorted set kept them: still pruned.
      const legacyEventField = (time: number, offset: number): string => `E:${time}:t/1/${offset}`;
      const event = (time: number, offset: number, json = '{}') => onlineEvent(time, { topic: 't', partition: 0, offset }, json);
      const [HOP, SLICE] = [600_000, 10_000];
      const rules = (tileFrom: number, sliceFrom: number): PruneBounds['pieces'] => [{ kind: 'T', width: HOP, from: tileFrom }, { kind: 'S', width: SLICE, from: sliceFrom }];
      // Raw events in buckets of the slice's width, each kept two minutes past its end.
      const keep: PruneBounds = {
        now: NOW,
        everyMs: 60_000,
        pieces: rules(NOW - 3_600_000, NOW - 60_000),
        eventFrom: NOW - 10_000,
        eventBucketMs: SLICE,
        eventWidths: [SLICE],
        eventSlackMs: 120_000,
        expireMs: 86_400_000,
      };
      const range = (from: number, to: number) => ({ from, to, bucketMs: SLICE });
      const entryOf = async (k: OnlineKey) => {
        const [entry] = await store.read([k]);
        assert.ok(entry !== undefined && entry !== null && !(entry instanceof Error) && 'pieces' in entry, 'a pieces entry');
        return entry;
      };
      const pieces = async (k: OnlineKey) => ({ ...(await entryOf(k)).pieces });
      /**
       * The raw events held dated in [from, NOW + 1 h), each once. A store may return others it holds
       * beside those of the range asked for (Redis: the rest of their buckets), which the reader skips by
       * time as it folds (serving/aggregation-online.ts); so does this.
       */
      const events = async (k: OnlineKey, from = NOW - 3_600_000) => {
        const members = (await entryOf({ ...k, eventRange: range(from, NOW + 3_600_000) })).events;
        assert.equal(new Set(members).size, members.length, 'each event once');
        return members.filter((m) => parseOnlineEvent(m)!.time >= from).sort();
      };

      it('reads an empty set for an entity never written, next to row records in the same call', async () => {
        const [a, b] = [fresh(), fresh()];
        await store.writeIfNewer([write(key(b), 1000, 1000, { a_int: 1 })]);
        const entries = await store.read([pieceKey(a), key(b), key(a)]);
        assert.deepEqual(entries[0], { pieces: {}, events: [] });
        assert.deepEqual(plain(entries[1]), { eventTs: 1000, createdTs: 1000, values: { a_int: 1 } });
        assert.equal(entries[2], null);
      });

      it('keeps the newer version of a piece whatever order writes arrive in, and adds an event once', async () => {
        const k = pieceKey(fresh());
        const tile = tileField(HOP, NOW - 600_000);
        const first = event(NOW - 5_000, 7, '{"amount":1}');
        assert.deepEqual(await store.writePieces([{ ...k, fields: [{ name: tile, value: encodePiece(3, '{"n":3}') }], events: [first], prune: keep }]), [1]);
        assert.deepEqual(await store.writePieces([{ ...k, fields: [{ name: tile, value: encodePiece(2, '{"n":2}') }], events: [first], prune: keep }]), [0]);
        assert.deepEqual(await store.writePieces([{ ...k, fields: [{ name: tile, value: encodePiece(4, '{"n":4}') }], events: [], prune: keep }]), [1]);
        assert.equal((await pieces(k))[tile], '4|{"n":4}');
        assert.deepEqual(await events(k), [first.member]);
      });

      it('reads an event written again with other inputs (its view changed) once, as last written', async () => {
        const k = pieceKey(fresh());
        const [before, after] = [event(NOW - 1_000, 7, '{"amount":1}'), event(NOW - 1_000, 7, '{"amount":1,"merchant":"m"}')];
        await store.writePieces([{ ...k, fields: [], events: [before], prune: keep }]);
        await store.writePieces([{ ...k, fields: [], events: [after], prune: keep }]);
        assert.deepEqual(await events(k), [after.member]);
      });

      it('reads every raw event of the range asked for, from included, to excluded, in one bucket or two', async () => {
        const k = pieceKey(fresh());
        // NOW − 10,000 starts a bucket: the range [NOW − 10,001, NOW) spans two.
        const held = [NOW - 20_001, NOW - 10_002, NOW - 10_001, NOW - 10_000, NOW - 500, NOW - 1, NOW, NOW + 5].map((time, i) => event(time, i));
        // Nothing pruned yet: the embedded store drops events before eventFrom as it prunes.
        await store.writePieces([{ ...k, fields: [], events: held, prune: { ...keep, eventFrom: NOW - 60_000 } }]);
        const inRange = (from: number, to: number) => held.filter((e) => e.time >= from && e.time < to).map((e) => e.member);
        for (const [from, to] of [
          [NOW - 10_001, NOW],
          [NOW - 10_000, NOW],
          [NOW - 1, NOW + 1],
        ] as const) {
          const { events: read } = await entryOf({ ...k, eventRange: range(from, to) });
          const wanted = read.filter((m) => parseOnlineEvent(m)!.time >= from && parseOnlineEvent(m)!.time < to);
          assert.deepEqual(wanted.sort(), inRange(from, to).sort(), `[${from - NOW}, ${to - NOW})`);
          // Others only from the range's own buckets.
          for (const m of read) assert.ok(parseOnlineEvent(m)!.time >= Math.floor(from / SLICE) * SLICE && parseOnlineEvent(m)!.time < to + SLICE, m);
        }
        // No range, no events: a key without one (as written) reads the pieces alone; nor an empty range,
        // as at a T that starts every finest slice.
        assert.deepEqual((await entryOf(k)).events, []);
        assert.deepEqual((await entryOf({ ...k, eventRange: range(NOW, NOW) })).events, []);
      });

      it('prunes what no window can read any more, at most once per interval', async () => {
        const k = pieceKey(fresh());
        const fields = [
          { name: tileField(HOP, NOW - 7_200_000), value: encodePiece(1, '1') }, // before tileFrom: goes
          { name: tileField(HOP, NOW - 1_800_000), value: encodePiece(1, '2') },
          { name: sliceField(SLICE, NOW - 120_000), value: encodePiece(1, '3') }, // before sliceFrom: goes
          { name: sliceField(SLICE, NOW - 30_000), value: encodePiece(1, '4') },
          { name: tileField(2 * HOP, NOW), value: encodePiece(1, '5') }, // a width no group has any more: goes
          { name: legacyEventField(NOW - 20_000, 1), value: encodePiece(0, '{}') }, // before eventFrom: goes
          { name: legacyEventField(NOW - 1_000, 2), value: encodePiece(0, '{}') },
        ];
        const held = [event(NOW - 20_000, 1), event(NOW - 10_001, 2), event(NOW - 10_000, 3), event(NOW - 1_000, 4)];
        await store.writePieces([{ ...k, fields, events: held, prune: keep }]);
        const kept = Object.keys(await pieces(k)).filter((name) => name !== PRUNED_AT).sort();
        assert.deepEqual(kept, [fields[1]!.name, fields[3]!.name, fields[6]!.name].sort());
        // Events from eventFrom on are still read (earlier ones go or age out with their bucket).
        assert.deepEqual(await events(k, keep.eventFrom), [held[2]!.member, held[3]!.member].sort());
        // Within the interval nothing is pruned, even what is now out of bounds.
        const later = { ...keep, now: NOW + 30_000, pieces: rules(NOW, NOW), eventFrom: NOW };
        await store.writePieces([{ ...k, fields: [], events: [], prune: later }]);
        assert.equal(Object.keys(await pieces(k)).filter((name) => name !== PRUNED_AT).length, 3);
        assert.equal((await events(k, keep.eventFrom)).length, 2);
        await store.writePieces([{ ...k, fields: [], events: [], prune: { ...later, now: NOW + 60_000 } }]);
        assert.deepEqual(Object.keys(await pieces(k)).filter((name) => name !== PRUNED_AT), []);
        assert.deepEqual(await events(k, later.eventFrom), []);
      });

      it('writes many hashes in one call, each exactly as a call of its own would', async () => {
        // More hashes than one script call carries, two prune headers (one prunes, one keeps) interleaved,
        // a hash with no fields, and one whose writes lose to newer versions.
        const later = { ...keep, now: NOW + 120_000, pieces: rules(NOW - 600_000, NOW - 10_000) };
        const [ahead] = [pieceKey(fresh())];
        await store.writePieces([{ ...ahead, fields: [{ name: tileField(HOP, NOW), value: encodePiece(9, '9') }], events: [], prune: keep }]);
        const writes = Array.from({ length: 230 }, (_, i): PiecesWrite => {
          const k = i === 7 ? ahead : pieceKey(fresh());
          const fields =
            i % 50 === 3
              ? []
              : [
                  { name: tileField(HOP, NOW - 1_200_000), value: encodePiece(1, `{"old":${i}}`) },
                  { name: tileField(HOP, NOW), value: encodePiece(2, `{"n":${i}}`) },
                  { name: sliceField(SLICE, NOW - 5_000), value: encodePiece(1, `{"s":${i}}`) },
                ];
          return { ...k, fields, events: i % 50 === 3 ? [] : [event(NOW - 1_000, i, `{"amount":${i}}`)], prune: i % 3 === 0 ? later : keep };
        });
        const written = await store.writePieces(writes);
        assert.deepEqual(
          written,
          writes.map((w, i) => (w.fields.length === 0 ? 0 : i === 7 ? 2 : 3)),
        );
        const expected = (i: number): string[] => {
          const w = writes[i]!;
          const names = new Set(w.fields.map((f) => f.name));
          if (i === 7) names.add(tileField(HOP, NOW));
          // The later header prunes (its first write to the hash): the old tile is before its tileFrom.
          if (w.prune === later) names.delete(tileField(HOP, NOW - 1_200_000));
          return [...names, PRUNED_AT].sort();
        };
        for (const i of [0, 1, 2, 3, 7, 53, 99, 100, 101, 150, 229]) {
          const stored = await pieces(writes[i]!);
          assert.deepEqual(Object.keys(stored).sort(), expected(i), `hash ${i}`);
          assert.equal(stored[PRUNED_AT], String(writes[i]!.prune.now), `hash ${i} pruned at its own header's clock`);
          if (i === 7) assert.equal(stored[tileField(HOP, NOW)], '9|9', 'the newer version stays');
          else if (writes[i]!.fields.length > 0) assert.equal(stored[tileField(HOP, NOW)], `2|{"n":${i}}`);
          // Read as a gateway at T ≥ the writer's clock − 2 minutes would: the later header's clock is past
          // the events' slice (a store may drop them, the embedded one keeps them), the other's is not.
          const readable = writes[i]!.prune === later ? [] : writes[i]!.events.map((e) => e.member);
          assert.deepEqual(await events(writes[i]!, writes[i]!.prune.now - 120_000), readable, `hash ${i}'s events`);
        }
      });

      it('writes one hash of thousands of fields and events, a field named twice comparing with what it was just given', async () => {
        // More fields and events than Lua's unpack can spread at once (about 8,000), so the script must take
        // them in chunks; repeats within a chunk and across two.
        const k = pieceKey(fresh());
        const tile = (n: number) => tileField(HOP, NOW - n * HOP);
        await store.writePieces([{ ...k, fields: [{ name: tile(1), value: encodePiece(5, '"stored"') }], events: [], prune: keep }]);
        const count = 9_000;
        const fields = Array.from({ length: count }, (_, i) => ({ name: sliceField(SLICE, NOW - i * SLICE), value: encodePiece(1, `{"i":${i}}`) }));
        // tile(2): a higher version right after a lower one wins; tile(3): a lower one right after a higher
        // one loses; tile(4): the same, the pair far apart; tile(1): loses to the stored version 5, then beats it.
        fields.splice(10, 0, { name: tile(2), value: encodePiece(1, '"low"') }, { name: tile(2), value: encodePiece(2, '"high"') });
        fields.splice(20, 0, { name: tile(3), value: encodePiece(7, '"first"') }, { name: tile(3), value: encodePiece(6, '"second"') });
        fields.splice(990, 0, { name: tile(4), value: encodePiece(7, '"first"') });
        fields.splice(1_500, 0, { name: tile(4), value: encodePiece(6, '"second"') });
        fields.splice(2_000, 0, { name: tile(1), value: encodePiece(4, '"older"') }, { name: tile(1), value: encodePiece(6, '"newer"') });
        const held = Array.from({ length: count }, (_, i) => event(NOW - 1_000, i, `{"i":${i}}`));
        const [written] = await store.writePieces([{ ...k, fields, events: held, prune: keep }]);
        // Every slice, both tile(2) writes, the first of tile(3) and tile(4), the newer tile(1) write.
        assert.equal(written, count + 2 + 1 + 1 + 1);
        const stored = await pieces(k);
        assert.equal(stored[tile(1)], '6|"newer"');
        assert.equal(stored[tile(2)], '2|"high"');
        assert.equal(stored[tile(3)], '7|"first"');
        assert.equal(stored[tile(4)], '7|"first"');
        assert.equal(Object.keys(stored).filter((name) => name.startsWith('S:')).length, count);
        assert.equal(stored[sliceField(SLICE, NOW - (count - 1) * SLICE)], `1|{"i":${count - 1}}`);
        assert.deepEqual(await events(k), held.map((e) => e.member).sort());
      });

      it('writes a busy entity of more events than a JavaScript call takes arguments, beside other hashes', async () => {
        // A large commit can give one entity's hash this many recent events: spread into a call, the
        // script's arguments (two per event) overflowed the stack inside the client, which crashed the process.
        const [busy, quiet] = [pieceKey(fresh()), pieceKey(fresh())];
        const count = 150_000;
        const held = Array.from({ length: count }, (_, i) => event(NOW - 5_000 + (i % 5_000), i));
        const quietEvents = [event(NOW - 1_000, 1)];
        const written = await store.writePieces([
          { ...busy, fields: [{ name: tileField(HOP, NOW), value: encodePiece(1, '{"n":1}') }], events: held, prune: keep },
          { ...quiet, fields: [{ name: tileField(HOP, NOW), value: encodePiece(1, '{"n":2}') }], events: quietEvents, prune: keep },
        ]);
        assert.deepEqual(written, [1, 1]);
        assert.equal((await events(busy)).length, count);
        assert.deepEqual(await events(quiet), quietEvents.map((e) => e.member));
        assert.equal((await pieces(quiet))[tileField(HOP, NOW)], '1|{"n":2}');
      });

      it('keeps fields of the per-feature layout of earlier versions until a write drops them', async () => {
        const k = pieceKey(fresh());
        const old = ['T:c:0', 'S:c:0'];
        await store.writePieces([{ ...k, fields: old.map((name) => ({ name, value: encodePiece(1, '1') })), events: [], prune: keep }]);
        // Pruning leaves them, so the gateway can say the hash needs rebuilding rather than read part of it.
        await store.writePieces([{ ...k, fields: [], events: [], prune: { ...keep, now: NOW + 60_000 } }]);
        assert.deepEqual(Object.keys(await pieces(k)).filter((name) => name !== PRUNED_AT).sort(), old.sort());
        const tile = tileField(HOP, NOW - 600_000);
        await store.writePieces([{ ...k, fields: [{ name: tile, value: encodePiece(1, '{}') }], events: [], prune: keep, dropOutdated: true }]);
        assert.deepEqual(Object.keys(await pieces(k)).filter((name) => name !== PRUNED_AT), [tile]);
      });

      it('lets the pieces of an entity that went quiet expire', async () => {
        const k = pieceKey(fresh());
        // The bucket of NOW (a bucket start) given an expiry of 1 ms.
        const quick = { ...keep, expireMs: 1, everyMs: 1, eventSlackMs: 1 - SLICE };
        await store.writePieces([{ ...k, fields: [{ name: tileField(HOP, NOW), value: encodePiece(1, '1') }], events: [event(NOW, 1)], prune: quick }]);
        // Expiry is the store's own clock; poll it rather than sleep a guessed time (the deadline only bounds a broken store).
        const deadline = Date.now() + 5_000;
        while (Object.keys(await pieces(k)).length > 0 || (await events(k)).length > 0) {
          assert.ok(Date.now() < deadline, 'the pieces expire');
          await new Promise((resolve) => setImmediate(resolve));
        }
      });
    });
  });
}
