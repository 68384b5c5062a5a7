/**
 * Windows at T: [floor_hop(T − window), T), from tiles and raw events, the same whatever split the caller
 * holds (the online and historical paths hold different ones), decaying as T passes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregatorFor } from '../../../../src/features/aggregate/aggregators.ts';
import type { SourceEvent, Span } from '../../../../src/features/aggregate/finalize.ts';
import { foldEvent, valueAt, windowPartial } from '../../../../src/features/aggregate/finalize.ts';
import { headSliceMs, maxTilesKept, retainFrom, tileOf, viewRetainFrom, windowPlan } from '../../../../src/features/aggregate/tiles.ts';
import { defaultHopMs, floorHop, windowRange } from '../../../../src/features/windows.ts';
import type { Aggregation, Feature } from '../../../../src/registry/types.ts';
import { AGGREGATE_FUNCTIONS } from '../../../../src/registry/types.ts';
import { DAY, HOUR, MINUTE, SECOND, aggFeature, int, pick, randomDouble, rng, shuffled } from './fixtures.ts';

const T = Date.UTC(2026, 10, 21, 10, 30, 15, 123);
const count24h = aggFeature('COUNT', { windowMs: DAY, hopMs: HOUR });

const ev = (time: number, x: unknown = 1): SourceEvent => ({ time, row: { x } });
const aggOf = (f: Feature): Aggregation => f.aggregation!;

/** Folds events into spans of `widthMs` (as the materializer folds tiles). */
function spansOf(f: Feature, events: readonly SourceEvent[], widthMs: number): Span[] {
  const a = aggOf(f);
  const byStart = new Map<number, unknown>();
  for (const e of events) {
    const { start } = tileOf(e.time, widthMs);
    if (!byStart.has(start)) byStart.set(start, aggregatorFor(a).empty());
    foldEvent(a, byStart.get(start), e);
  }
  return [...byStart].map(([start, partial]) => ({ start, end: start + widthMs, partial }));
}

describe('floor_hop and the window range', () => {
  it('aligns tiles to the epoch, negative times included', () => {
    assert.equal(floorHop(T, HOUR), Date.UTC(2026, 10, 21, 10));
    assert.equal(floorHop(Date.UTC(2026, 10, 21, 10), HOUR), Date.UTC(2026, 10, 21, 10));
    assert.equal(floorHop(-1, HOUR), -HOUR);
    assert.equal(floorHop(-HOUR, HOUR), -HOUR);
    assert.equal(floorHop(0, DAY), 0);
    assert.deepEqual(tileOf(T, 5 * MINUTE), { start: Date.UTC(2026, 10, 21, 10, 30), end: Date.UTC(2026, 10, 21, 10, 35) });
  });

  it('covers [floor_hop(T − window), T) with window/hop completed tiles and a head', () => {
    assert.deepEqual(windowRange(T, DAY, HOUR), { from: Date.UTC(2026, 10, 20, 10), to: T });
    const plan = windowPlan(aggOf(count24h), T);
    assert.equal(plan.from, Date.UTC(2026, 10, 20, 10));
    assert.equal(plan.head, Date.UTC(2026, 10, 21, 10));
    assert.equal(plan.to, T);
    assert.equal(plan.tileStarts.length, 24);
    assert.equal(plan.tileStarts[0], plan.from);
    assert.equal(plan.tileStarts.at(-1), plan.head - HOUR);
  });

  it('needs no head when T is on a hop boundary', () => {
    const plan = windowPlan(aggOf(count24h), Date.UTC(2026, 10, 21, 10));
    assert.equal(plan.head, plan.to);
    assert.equal(plan.tileStarts.length, 24);
  });
});

describe('window boundaries', () => {
  const { from } = windowRange(T, DAY, HOUR);

  it('excludes an event at exactly T and includes one at exactly floor_hop(T − window)', () => {
    assert.equal(valueAt(count24h, [], [ev(T)], T), 0);
    assert.equal(valueAt(count24h, [], [ev(T - 1)], T), 1);
    assert.equal(valueAt(count24h, [], [ev(from)], T), 1);
    assert.equal(valueAt(count24h, [], [ev(from - 1)], T), 0);
  });

  it('keeps the old edge on the hop grid: up to a hop more than the window', () => {
    // T − window = 10:30:15.123 yesterday, but the window starts at 10:00 yesterday.
    assert.equal(valueAt(count24h, [], [ev(Date.UTC(2026, 10, 20, 10, 0, 0, 1))], T), 1);
  });

  it('gives the same value from tiles as from the raw events', () => {
    const events = [from, from + 1, T - HOUR, T - 1, T, T + 5].map((t) => ev(t));
    const tiles = spansOf(count24h, events, HOUR).filter((s) => s.end <= floorHop(T, HOUR));
    const head = events.filter((e) => e.time >= floorHop(T, HOUR));
    assert.equal(valueAt(count24h, tiles, head, T), 4);
    assert.equal(valueAt(count24h, [], events, T), 4);
  });
});

describe('decay', () => {
  it('drops old tiles as T passes with no new events', () => {
    const start = Date.UTC(2026, 0, 1);
    const events = Array.from({ length: 48 }, (_, h) => ev(start + h * HOUR + 17 * MINUTE));
    const tiles = spansOf(count24h, events, HOUR);
    const at = (t: number): unknown => valueAt(count24h, tiles.filter((s) => s.end <= floorHop(t, HOUR)), events.filter((e) => e.time >= floorHop(t, HOUR)), t);
    const last = start + 47 * HOUR + 17 * MINUTE;
    assert.equal(at(last + 1), 25); // 24 completed tiles (the window plus up to a hop) + the head's event
    assert.equal(at(last + HOUR), 24); // the oldest tile leaves as the head fills
    assert.equal(at(start + 48 * HOUR), 24);
    assert.equal(at(start + 60 * HOUR), 12);
    assert.equal(at(start + 71 * HOUR + 59 * MINUTE), 1);
    assert.equal(at(start + 72 * HOUR), 0);
    const sum = aggFeature('SUM');
    const sumTiles = spansOf(sum, events, HOUR);
    assert.equal(valueAt(sum, sumTiles, [], start + 100 * DAY), 0);
    assert.equal(valueAt(aggFeature('AVG'), spansOf(aggFeature('AVG'), events, HOUR), [], start + 100 * DAY), null);
  });
});

/** Random events for a function, around T, including some dated after T and before the window. */
function randomEvents(fn: Aggregation['fn'], seed: number, window: number): SourceEvent[] {
  const r = rng(seed);
  const values = fn === 'FIRST' || fn === 'LAST' || fn.includes('DISTINCT') ? ['a', 'b', { k: 1, j: 2 }, 3, 'z'] : null;
  return Array.from({ length: int(r, 0, 300) }, () => {
    const time = T - window - 2 * HOUR + Math.floor(r() * (window + 3 * HOUR));
    return ev(r() < 0.1 ? floorHop(time, MINUTE) : time, values === null ? randomDouble(r) : r() < 0.7 ? `v${int(r, 0, 60)}` : pick(r, values));
  });
}

describe('online equals historical', () => {
  for (const fn of AGGREGATE_FUNCTIONS) {
    it(`${fn}: every split of the window gives the same bits`, () => {
      for (let seed = 1; seed <= 25; seed++) {
        const r = rng(seed * 31 + fn.length);
        const hopMs = pick(r, [MINUTE, 5 * MINUTE, HOUR]);
        const windowMs = hopMs * int(r, 1, 30);
        const f = aggFeature(fn, { windowMs, hopMs, type: fn.includes('COUNT') ? 'Int' : 'Float' });
        const events = randomEvents(fn, seed, windowMs);
        const asOf = T - int(r, 0, HOUR);
        const head = floorHop(asOf, hopMs);
        // Historical: completed tiles from the tile table, raw archived events for the head.
        const tiles = spansOf(f, shuffled(r, events), hopMs);
        const historical = valueAt(
          f,
          tiles.filter((s) => s.end <= head),
          events.filter((e) => e.time >= head),
          asOf,
        );
        // Online: the same tiles (all of them, old ones too), head slices ending by T, raw events of the open
        // slice; the slice is the default, another width dividing the hop (`slice:`), or the hop itself.
        const slice = pick(r, [headSliceMs(hopMs), hopMs / 12, hopMs / 2, hopMs]);
        const sliceStart = floorHop(asOf, slice);
        const headEvents = shuffled(r, events.filter((e) => e.time >= head));
        const slices = spansOf(f, headEvents.filter((e) => e.time < sliceStart), slice);
        const online = valueAt(
          f,
          [...tiles.filter((s) => s.end <= head), ...slices],
          headEvents.filter((e) => e.time >= sliceStart),
          asOf,
        );
        // Oracle: every raw event, no tiles.
        const raw = valueAt(f, [], shuffled(r, events), asOf);
        for (const [name, v] of [
          ['online', online],
          ['raw', raw],
        ] as const) {
          if (typeof historical === 'number') assert.ok(Object.is(v, historical), `${fn} seed ${seed}: ${name} ${String(v)} ≠ historical ${historical}`);
          else assert.deepEqual(v, historical, `${fn} seed ${seed}: ${name}`);
        }
        const a = aggregatorFor(aggOf(f));
        const enc = (p: unknown): string => JSON.stringify(a.encode(p));
        assert.equal(enc(windowPartial(aggOf(f), [], events, asOf)), enc(windowPartial(aggOf(f), tiles.filter((s) => s.end <= head), events.filter((e) => e.time >= head), asOf)));
      }
    });
  }
});

describe('misuse', () => {
  const head = floorHop(T, HOUR);
  const { from } = windowRange(T, DAY, HOUR);
  const partialOf = (events: SourceEvent[]): unknown => spansOf(count24h, events, DAY)[0]?.partial ?? aggregatorFor(aggOf(count24h)).empty();

  it('refuses a head tile that straddles T', () => {
    assert.throws(() => valueAt(count24h, [{ start: head, end: head + HOUR, partial: partialOf([]) }], [], T), RangeError);
  });

  it('refuses a span straddling the old edge', () => {
    assert.throws(() => valueAt(count24h, [{ start: from - 1, end: from + HOUR, partial: partialOf([]) }], [], T), RangeError);
  });

  it('refuses overlapping spans, and raw events inside a given span', () => {
    const p = partialOf([ev(from)]);
    assert.throws(() => valueAt(count24h, [{ start: from, end: from + HOUR, partial: p }, { start: from + 30 * MINUTE, end: from + 90 * MINUTE, partial: p }], [], T), RangeError);
    assert.throws(() => valueAt(count24h, [{ start: from, end: from + HOUR, partial: p }], [ev(from + 5)], T), RangeError);
  });

  it('ignores spans wholly outside the window', () => {
    const p = partialOf([ev(0)]);
    assert.equal(valueAt(count24h, [{ start: from - HOUR, end: from, partial: p }, { start: T, end: T + HOUR, partial: p }], [], T), 0);
  });

  it('refuses features without an aggregation', () => {
    assert.throws(() => valueAt({ ...count24h, aggregation: undefined }, [], [], T), TypeError);
  });
});

describe('retention', () => {
  it('keeps the tiles of the longest window plus one hop', () => {
    const now = Date.UTC(2026, 10, 21, 10, 30);
    assert.equal(retainFrom(aggOf(count24h), now), Date.UTC(2026, 10, 20, 9));
    const week = aggOf(aggFeature('COUNT_DISTINCT', { windowMs: 7 * DAY, hopMs: HOUR }));
    assert.equal(viewRetainFrom([aggOf(count24h), week], now), Date.UTC(2026, 10, 14, 9));
    assert.equal(maxTilesKept(aggOf(count24h)), 26);
    assert.equal(maxTilesKept(aggOf(count24h), 90 * SECOND), 27);
  });

  it('changes no value at any T from a hop before the prune onwards', () => {
    const r = rng(9);
    const f = aggFeature('SUM', { windowMs: 6 * HOUR, hopMs: HOUR });
    const events = Array.from({ length: 500 }, () => ev(T - 10 * HOUR + Math.floor(r() * 10 * HOUR), randomDouble(r)));
    const tiles = spansOf(f, events, HOUR);
    const keep = retainFrom(aggOf(f), T);
    const kept = tiles.filter((s) => s.start >= keep);
    assert.ok(kept.length < tiles.length);
    for (let asOf = T - HOUR; asOf <= T + 2 * HOUR; asOf += 7 * MINUTE) {
      const head = floorHop(asOf, HOUR);
      const headEvents = events.filter((e) => e.time >= head);
      const all = valueAt(f, tiles.filter((s) => s.end <= head), headEvents, asOf);
      const pruned = valueAt(f, kept.filter((s) => s.end <= head), headEvents, asOf);
      assert.ok(Object.is(pruned, all), `T ${asOf}`);
    }
  });

  it('slices the head so online keeps one slice of raw events', () => {
    assert.equal(headSliceMs(MINUTE), SECOND);
    assert.equal(headSliceMs(5 * MINUTE), 5 * SECOND);
    assert.equal(headSliceMs(HOUR), MINUTE);
    assert.equal(headSliceMs(DAY), 24 * MINUTE);
    assert.equal(headSliceMs(90 * SECOND), SECOND);
    assert.equal(headSliceMs(SECOND), SECOND);
    for (const w of [SECOND, 45 * SECOND, HOUR, 11 * HOUR, 7 * DAY, 90 * DAY]) {
      const hop = defaultHopMs(w);
      assert.equal(hop % headSliceMs(hop), 0, `window ${w}`);
    }
  });
});
