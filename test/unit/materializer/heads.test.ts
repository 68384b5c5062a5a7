/** Heads (materializer/heads.ts): bucket widths, and events grouped by entity and bucket as online members. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HEADS_MIN_BUCKET_MS, headsBucketWidth, headsRows, viewMembers } from '../../../src/materializer/heads.ts';
import type { SourceEvent } from '../../../src/materializer/decode.ts';
import { rawOnlineEvent } from '../../../src/materializer/online-retention.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { headsCopy } from '../../../src/stores/sql/heads-tables.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
let registry: Registry;

before(async () => {
  registry = await registryFromSdl(`
    type Shop @entity(key: ["shop_id"]) { shop_id: ID! }
    type Sale @source(topic: "sales", timestamp: "at") { shop_id: ID amount: Float! note: String at: DateTime! }
    type Hourly @featureView(entity: "Shop", source: "Sale") {
      n: Int! @aggregate(fn: COUNT, window: "1d", hop: "1h")
      total: Float! @aggregate(fn: SUM, of: "amount", window: "2h", hop: "10m")
    }
    type Fast @featureView(entity: "Shop", source: "Sale") { n: Int! @aggregate(fn: COUNT, window: "10s", hop: "1s") }
  `);
});

const event = (offset: number, at: number, shop: string | null, amount = 1): SourceEvent => ({
  source: 'Sale',
  topic: 'sales',
  partition: 0,
  offset,
  eventTs: at,
  messageTs: at,
  fields: { shop_id: shop, amount, note: 'not an input', at },
});

describe('heads', () => {
  it('buckets a view by its finest hop, never narrower than a minute', () => {
    assert.equal(headsBucketWidth(registry.view('hourly') as AggregationView), 10 * MIN);
    assert.equal(headsBucketWidth(registry.view('fast') as AggregationView), HEADS_MIN_BUCKET_MS);
  });

  it('groups members by entity and bucket, each followed by a newline, leaving out events with no entity', () => {
    const view = registry.view('hourly') as AggregationView;
    const events = [event(0, T0 + 1 * MIN, 'a', 2), event(1, T0 + 12 * MIN, 'a', 3), event(2, T0 + 2 * MIN, 'b'), event(3, T0 + 3 * MIN, null), event(4, T0 + 9 * MIN, 'a', 5)];
    const keys = events.map((e) => (e.fields.shop_id as string | null) ?? undefined);
    const members = viewMembers(view, events, keys);
    assert.equal(members[3], undefined);
    // The member the online store keeps for the event: its time, position and the view's inputs only.
    assert.deepEqual(members[0], rawOnlineEvent(view, events[0]!.eventTs, events[0]!, events[0]!.fields));
    assert.equal(members[0]!.member, `${T0 + MIN}:sales/0/0|{"amount":2}`);
    const rows = headsRows(view, keys, members);
    assert.deepEqual(
      rows.map((r) => [r.entityKey, r.bucketStart, r.events]),
      [
        ['a', T0, `${members[0]!.member}\n${members[4]!.member}\n`],
        ['a', T0 + 10 * MIN, `${members[1]!.member}\n`],
        ['b', T0, `${members[2]!.member}\n`],
      ],
    );
  });

  it('writes rows as binary COPY data for the view\'s heads table', () => {
    const view = registry.view('hourly') as AggregationView;
    const { target, data } = headsCopy(view, [{ entityKey: 'a', bucketStart: T0, events: 'x\n' }]);
    assert.equal(target, 'skewless."heads_hourly" (entity_key, bucket_start, events)');
    // Signature, flags, extension length; one row of three fields; the trailer.
    assert.equal(data.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
    assert.equal(data.readInt16BE(19), 3);
    assert.equal(data.readInt16BE(data.length - 2), -1);
    assert.ok(data.includes(Buffer.from('x\n')));
  });
});
