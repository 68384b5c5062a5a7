/**
 * Online reads of busy entities, after the materializer run: the same merchants' `merchant_baseline`
 * (30 d windows, 1 d hop: 24-minute slices) read through the gateway's own path (onlineFrame, a fresh
 * ServingContext per read) next to the raw Redis round trip for the same data (HGETALL of the entity's
 * hash and MGET of the buckets holding the raw events of T's slice, pipelined), in the same process, one
 * after the other. The busiest merchant holds thousands of raw events online, all in T's slice here. Each
 * merchant is read at two T: at its newest event, where its head tile straddles T and the gateway folds the
 * raw events of T's slice (the gap between the gateway and raw columns), and a millisecond later, where its
 * events all precede T and the head tile is taken whole, no raw event folded (headRule, event-span.ts;
 * docs/materializer.md#hot-entities). The second is what live traffic mostly gives: its events are dated
 * before the gateway's clock.
 */
import { onlineKey } from '../src/features/keys.ts';
import type { Registry } from '../src/registry/registry.ts';
import type { AggregationView } from '../src/registry/types.ts';
import { eventRangeAt } from '../src/serving/aggregation-online.ts';
import { createServingContext } from '../src/serving/context.ts';
import type { Limits } from '../src/serving/context.ts';
import { onlineFrame } from '../src/serving/online-frame.ts';
import type { Stores } from '../src/stores/open.ts';
import { bucketMembers, eventBucketKeys, eventKeysPattern, parseOnlineEvent } from '../src/stores/online-pieces.ts';
import { RedisOnlineStore } from '../src/stores/redis/online.ts';
import type { Section } from './benchmark.ts';
import { POPULATION } from './materializer-fixture.ts';
import { ratio, summarize } from './stats.ts';
import type { LatencySummary } from './stats.ts';
import { ms, times } from './table.ts';

const VIEW = 'merchant_baseline';
const READS = 300;

export async function measureHotReads(registry: Registry, stores: Stores, limits: Limits, id: string): Promise<Section> {
  if (!(stores.online instanceof RedisOnlineStore)) throw new Error('the busy-entity reads need the Redis online store');
  const redis = stores.online.client;
  const merchants = [0, 1, 50, POPULATION.merchants - 1].map((m) => `${id}-m${m}`);
  const view = registry.view(VIEW) as AggregationView;
  // Whether the gateway's reads still ask for the sorted set earlier versions kept: read now, not left to
  // the store's next refresh, so that the text says what was measured.
  const marked = (await stores.online.refreshRawEventsLayout()).has(VIEW);
  const rows: string[][] = [];
  for (const merchant of merchants) {
    const key = onlineKey('Merchant', merchant, VIEW);
    const members = await heldEvents(redis, key);
    if (members.length === 0) throw new Error(`${merchant} holds no raw events online after the run`);
    // T at the merchant's newest event: its head tile straddles T (its other events precede it).
    let newest = -Infinity;
    for (const member of members) newest = Math.max(newest, parseOnlineEvent(member)!.time);
    // The raw events the gateway asks for at T: those of T's slice (24 minutes for this view's 1 d hop).
    const range = eventRangeAt(view, newest);
    const fields = await redis.hlen(key);
    let events = 0;
    const read = (asOf: number) =>
      timed(async () => {
        const frame = await onlineFrame(createServingContext({ registry, stores, limits, now: () => asOf }), { features: [VIEW], entities: [{ merchant_id: merchant }] });
        if (frame.errors.length > 0) throw new Error(`reading ${merchant}: ${frame.errors[0]!.message}`);
      });
    const gateway = await read(newest);
    const raw = await timed(async () => {
      const [, buckets] = await Promise.all([redis.hgetall(key), redis.mget(eventBucketKeys(key, range))]);
      events += bucketMembers([], buckets).length;
    });
    const whole = await read(newest + 1);
    rows.push([
      merchant.slice(id.length + 1),
      fields.toLocaleString('en-US'),
      members.length.toLocaleString('en-US'),
      (events / READS).toFixed(1),
      ms(gateway.p50),
      ms(gateway.p99),
      ms(raw.p50),
      ms(raw.p99),
      times(ratio(gateway.p50, raw.p50)),
      ms(whole.p50),
      ms(whole.p99),
      times(ratio(whole.p50, raw.p50)),
    ]);
  }
  return {
    title: `Busy entities: online reads of ${VIEW} after the run`,
    text: [
      `Per merchant, ${READS} reads through onlineFrame (fresh ServingContext each), then ${READS} raw reads of the same data (HGETALL of the hash, MGET of the buckets holding the raw events of T's slice, each member taken once; pipelined; ${marked ? 'the gateway leaves out the sorted set earlier versions kept, the materializer having marked the view as having none, docs/materializer.md#sorted-sets-retired' : 'the gateway also asks for the sorted set earlier versions kept, empty here'}), ` +
        "at T = the merchant's newest event, where its head tile straddles T: the gateway folds the raw events of T's slice before T. Merchants are skewed: m0 is the busiest. The run's events span about 5 minutes of event time, all inside one 24-minute slice, so such a read folds nearly every raw event the merchant holds: the cost a view with a long hop has for busy entities (docs/materializer.md#hot-entities). " +
        'Then the gateway again at T one millisecond later ("T past its newest"), where its events all precede T and the head tile is taken whole, no raw event folded (still fetched: the gateway asks for the hash and the buckets in one round trip). That is what live traffic mostly gives, its events being dated before the gateway\'s clock; the first is an event dated ahead of it, or at it.',
    ],
    table: {
      columns: ['merchant', 'hash fields', 'raw events held', 'raw events read', 'gateway p50', 'gateway p99', 'raw Redis p50', 'raw Redis p99', 'gateway / raw p50', 'T past its newest: gateway p50', 'p99', '/ raw p50'],
      rows,
    },
  };
}

/** Every raw event an entity's hash holds online, each once: its buckets' members (MGET reads the sorted set of earlier versions, if any, as null). */
async function heldEvents(redis: RedisOnlineStore['client'], hash: string): Promise<string[]> {
  const keys = await redis.keys(eventKeysPattern(hash));
  return bucketMembers([], keys.length === 0 ? [] : await redis.mget(keys));
}

async function timed(read: () => Promise<void>): Promise<LatencySummary> {
  const durations = new Float64Array(READS);
  for (let i = 0; i < READS; i++) {
    const start = process.hrtime.bigint();
    await read();
    durations[i] = Number(process.hrtime.bigint() - start);
  }
  return summarize(durations);
}
