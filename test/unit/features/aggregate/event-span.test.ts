/**
 * A tile's event span, as stored in its row and as the gateway finds it in the row's text without
 * parsing the row; and the two questions the materializer and the gateway ask of it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_EVENTS, isSpread, soleSlice, spanInText, spanJson, storedSpan, widenSpan } from '../../../../src/features/aggregate/event-span.ts';

const M = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10);

describe('event spans', () => {
  it('reads back what it writes, [] for no events, and nothing from a row without one or with a malformed one', () => {
    const span = widenSpan(widenSpan(NO_EVENTS, { lo: T0 + 7 * M, hi: T0 + 7 * M }), { lo: T0 + 2 * M, hi: T0 + 3 * M });
    assert.deepEqual(span, { lo: T0 + 2 * M, hi: T0 + 7 * M });
    assert.deepEqual(storedSpan(JSON.parse(`{"n":3,"$events":${spanJson(span)}}`)), span);
    assert.equal(spanJson(NO_EVENTS), '[]');
    assert.deepEqual(storedSpan({ $events: [] }), NO_EVENTS);
    for (const row of [{ n: 3 }, { $events: [5] }, { $events: [9, 2] }, { $events: ['1', '2'] }, { $events: [1.5, 2] }, { $events: {} }]) assert.equal(storedSpan(row), undefined, JSON.stringify(row));
  });

  it('finds the span in the text, not a look-alike inside a partial (a quote in a string is escaped)', () => {
    const text = JSON.stringify({ merchants: [',"$events":[1,2]}', 'x'], n: 2, $events: [T0, T0 + M] });
    assert.ok(text.includes('"$events\\":[1,2]'), 'the look-alike is in the text, escaped');
    assert.deepEqual(spanInText(text), { lo: T0, hi: T0 + M });
    assert.deepEqual(spanInText(JSON.stringify({ merchants: [',"$events":[1,2]}'], n: 2 })), undefined);
    assert.equal(spanInText('{"n":1,"$events":[1,'), undefined, 'cut short');
    assert.deepEqual(spanInText('{"n":0,"$events":[]}'), NO_EVENTS);
    assert.equal(spanInText('{"$events":[1,2],"n":0}'), undefined, 'not the last member: not what the materializer writes');
  });

  it('says a tile needs slice rows only once its events leave one slice, or when its span is unknown', () => {
    const w = 5 * M;
    const one = { lo: T0 + 5 * M, hi: T0 + 9 * M + 59_999 };
    assert.equal(isSpread(one, w), false);
    assert.equal(soleSlice(one, w), T0 + 5 * M);
    const two = { lo: T0 + 5 * M, hi: T0 + 10 * M };
    assert.equal(isSpread(two, w), true);
    assert.equal(soleSlice(two, w), undefined);
    assert.equal(isSpread(NO_EVENTS, w), false);
    assert.equal(soleSlice(NO_EVENTS, w), undefined);
    assert.equal(isSpread(undefined, w), true, 'a row from before spans keeps its slices');
  });
});
