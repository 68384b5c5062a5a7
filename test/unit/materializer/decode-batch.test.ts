/** Kafka messages to domain values, and a batch to writes: the pure half of the materializer. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { planBatch } from '../../../src/materializer/batch.ts';
import { decodeMessage, topicRoutes } from '../../../src/materializer/decode.ts';
import type { RawMessage, Route } from '../../../src/materializer/decode.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const T = Date.parse('2026-11-21T12:00:00.000Z');
const bounds = { allowedLatenessMs: 3_600_000, maxFutureSkewMs: 60_000 };

let registry: Registry;
let events: Route;
let rows: Route;
before(async () => {
  registry = await registryFromSdl(`
    type User @entity(key: ["user_id"]) { user_id: ID! }
    type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! tags: [String] }
    type Stats @featureView(entity: "User", topic: "stats") { n: Int }
  `);
  const routes = topicRoutes(registry);
  events = routes.get('txns')!;
  rows = routes.get('stats')!;
});

const message = (topic: string, offset: number, value: unknown, timestampMs = T): RawMessage => ({ topic, partition: 0, offset, value: typeof value === 'string' ? value : JSON.stringify(value), timestampMs });

describe('decodeMessage', () => {
  it('normalises a source event to its declared types', () => {
    const decoded = decodeMessage(registry, events, message('txns', 4, { user_id: 7, amount: 2, at: '2026-11-21T11:59:00Z', tags: ['a'] }));
    assert.deepEqual(decoded, { kind: 'event', event: { topic: 'txns', partition: 0, offset: 4, source: 'Txn', eventTs: T - 60_000, messageTs: T, fields: { user_id: '7', amount: 2, at: T - 60_000, tags: ['a'] } } });
  });

  it('dead-letters what is not a JSON object, or does not match, with every problem and the raw payload', () => {
    const cases: [unknown, string, RegExp][] = [
      ['{"user_id":', 'MALFORMED', /^not JSON/],
      [[1, 2], 'MALFORMED', /must be a JSON object/],
      ['null', 'MALFORMED', /must be a JSON object/],
      [{ user_id: 'u', amount: 'x', colour: 1 }, 'INVALID', /has no field "colour".*amount: .*at: must not be null/],
    ];
    for (const [value, reason, text] of cases) {
      const decoded = decodeMessage(registry, events, message('txns', 9, value));
      assert.equal(decoded.kind, 'dead');
      if (decoded.kind !== 'dead') continue;
      assert.equal(decoded.dead.reason, reason);
      assert.match(decoded.dead.message, text);
      assert.equal(decoded.dead.payload, typeof value === 'string' ? value : JSON.stringify(value));
      assert.equal(decoded.dead.offset, 9);
    }
  });

  it("takes a row view's row as pushFeatures does, created_timestamp defaulting to the message's timestamp", () => {
    const decoded = decodeMessage(registry, rows, message('stats', 1, { user_id: 'u1', event_timestamp: T - 5, n: 3 }, T - 1));
    assert.equal(decoded.kind, 'row');
    if (decoded.kind === 'row') assert.deepEqual(decoded.row.row, { entityKey: 'u1', keyValues: ['u1'], eventTs: T - 5, createdTs: T - 1, values: { n: 3 } });
    const bad = decodeMessage(registry, rows, message('stats', 2, { user_id: 'u1', n: 3 }));
    assert.equal(bad.kind === 'dead' && bad.dead.message, 'event_timestamp: is missing');
  });

  it('refuses a topic named twice', async () => {
    const twice = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "same", timestamp: "at") { user_id: ID! at: DateTime! }
      type Stats @featureView(entity: "User", topic: "same") { n: Int }
    `);
    assert.throws(() => topicRoutes(twice), /topic "same" is named by source Txn and by view stats/);
  });
});

describe('planBatch', () => {
  const ev = (offset: number, at: number, timestampMs = T) => message('txns', offset, { user_id: 'u', amount: 1, at }, timestampMs);

  it('skips what was committed, sorts events, rows and dead letters, and moves each partition past its last message', () => {
    const messages = [ev(3, T), ev(4, T - 10), message('txns', 5, 'nope'), ev(6, T)];
    const decoded = messages.map((m) => decodeMessage(registry, events, m));
    const writes = planBatch(messages, decoded, new Map([['txns/0', 4]]), bounds);
    assert.equal(writes.skipped, 1);
    assert.deepEqual(writes.events.get('Txn')!.map((e) => e.offset), [4, 6]);
    assert.deepEqual(writes.dead.map((d) => [d.offset, d.reason]), [[5, 'MALFORMED']]);
    assert.deepEqual(writes.next, [{ topic: 'txns', partition: 0, offset: 7 }]);
  });

  it('takes a message delivered twice into one batch once', () => {
    const messages = [ev(3, T), ev(4, T), message('txns', 5, 'nope'), ev(3, T), ev(4, T), message('txns', 5, 'nope'), ev(6, T)];
    const writes = planBatch(messages, messages.map((m) => decodeMessage(registry, events, m)), new Map([['txns/0', 3]]), bounds);
    assert.equal(writes.skipped, 3);
    assert.deepEqual(writes.events.get('Txn')!.map((e) => e.offset), [3, 4, 6]);
    assert.deepEqual(writes.dead.map((d) => d.offset), [5]);
    assert.deepEqual(writes.next, [{ topic: 'txns', partition: 0, offset: 7 }]);
  });

  it("judges lateness and skew against the message's own timestamp, both bounds inclusive", () => {
    const messages = [ev(0, T - bounds.allowedLatenessMs), ev(1, T - bounds.allowedLatenessMs - 1), ev(2, T + bounds.maxFutureSkewMs), ev(3, T + bounds.maxFutureSkewMs + 1)];
    const writes = planBatch(messages, messages.map((m) => decodeMessage(registry, events, m)), new Map(), bounds);
    assert.deepEqual(writes.events.get('Txn')!.map((e) => e.offset), [0, 2]);
    assert.deepEqual(writes.dead.map((d) => [d.offset, d.reason]), [[1, 'LATE'], [3, 'FUTURE']]);
  });
});
