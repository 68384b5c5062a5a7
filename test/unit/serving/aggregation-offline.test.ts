/** The offline aggregation reader's pure parts: grouping, range merging, binary search, its SQL, its query count. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Registry } from '../../../src/registry/registry.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { AGGREGATION_CHUNK_ROWS, eventsSql, groupByEntity, lowerBound, mergeRanges, offlineAggregationRows, tilesSql } from '../../../src/serving/aggregation-offline.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const HOUR = 3_600_000;
let registry: Registry;
before(async () => {
  registry = await registryFromSdl(`
    type Shop @entity(key: ["shop_id", "region"]) { shop_id: Int! region: String! }
    type Sale @source(topic: "sales", timestamp: "at") { shop_id: Int! region: String! amount: Float! at: DateTime! }
    type ShopWindows @featureView(entity: "Shop", source: "Sale") {
      n: Int! @aggregate(fn: COUNT, window: "1h", hop: "5m")
      total: Float! @aggregate(fn: SUM, of: "amount", window: "1d")
    }
    type Till @entity(key: ["shop_id"]) { shop_id: ID! }
    type TillWindows @featureView(entity: "Till", source: "Sale") { n: Int! @aggregate(fn: COUNT, window: "1h") }
    type ShopNamed @featureView(entity: "Shop", source: "Sale") {
      constructor: Int! @aggregate(fn: COUNT, window: "1h", hop: "5m")
    }
    type ShopCounts @featureView(entity: "Shop", source: "Sale") {
      n1h: Int! @aggregate(fn: COUNT, window: "1h", hop: "5m")
      n2h: Int! @aggregate(fn: COUNT, window: "2h", hop: "5m")
    }
  `);
});

describe('offline aggregation reader', () => {
  it('merges overlapping and touching ranges, dropping empty ones', () => {
    assert.deepEqual(mergeRanges([[0, 10], [5, 12], [12, 20], [30, 30], [31, 40], [35, 38]]), [[0, 20], [31, 40]]);
    assert.deepEqual(mergeRanges([]), []);
  });

  it('finds the first index at or after a value', () => {
    const sorted = [1, 3, 3, 7];
    assert.deepEqual([0, 1, 3, 4, 7, 8].map((x) => lowerBound(sorted, x)), [0, 0, 1, 3, 3, 4]);
  });

  it('groups rows by entity in first-seen order, each sorted by T, leaving out rows with no entity or no T', () => {
    const entity = registry.entity('Shop')!;
    const groups = groupByEntity(entity, [
      { keys: { shop_id: 1, region: 'eu' }, asOf: 30 },
      { keys: { shop_id: 2, region: 'eu' }, asOf: 10 },
      { keys: { shop_id: '1', region: 'eu' }, asOf: 20 },
      { keys: { shop_id: 1 }, asOf: 5 },
      { keys: { shop_id: 1, region: 'eu' }, asOf: undefined },
    ]);
    assert.deepEqual(groups, [
      { key: '["1","eu"]', values: ['1', 'eu'], rows: [{ index: 2, asOf: 20 }, { index: 0, asOf: 30 }] },
      { key: '["2","eu"]', values: ['2', 'eu'], rows: [{ index: 1, asOf: 10 }] },
    ]);
  });

  it('reads tiles and head events with one index-walking lookup per range, keys typed as the archive stores them', () => {
    const view = registry.view('shop_windows') as AggregationView;
    const source = registry.source('Sale')!;
    assert.equal(
      tilesSql(view),
      'select r.i as "__r", t.tile_start::float8 as tile_start, (t.tile_start + r.w)::float8 as tile_end, t.partial ' +
        'from unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) as r(i, k, w, s, e) ' +
        'cross join lateral (select tile_start, partial from skewless."tiles_shop_windows" where entity_key = r.k and width = r.w and tile_start >= r.s and tile_start < r.e offset 0) t',
    );
    assert.equal(
      eventsSql(source, [source.fields[0]!, source.fields[1]!]),
      'select r.i as "__r", ev.* from unnest($1::int[], $2::integer[], $3::text[], $4::bigint[], $5::bigint[]) as r(i, k0, k1, s, e) ' +
        'cross join lateral (select "shop_id", "region", "amount", round(extract(epoch from "at") * 1000)::float8 as "at" from skewless."events_Sale" ' +
        'where "shop_id" = r.k0 and "region" = r.k1 and "at" >= timestamptz \'epoch\' + r.s * interval \'1 millisecond\' and "at" < timestamptz \'epoch\' + r.e * interval \'1 millisecond\' offset 0) ev',
    );
  });

  it('queries twice per chunk of rows whatever their number, once per merged range of each entity', async () => {
    const view = registry.view('shop_windows') as AggregationView;
    const calls: { sql: string; params: readonly unknown[] }[] = [];
    const offline = {
      query: async <T extends Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> => {
        calls.push({ sql, params });
        return [];
      },
    };
    // Six shops, each with 60% of a chunk of rows within one hour: two shops fill a chunk (an entity's rows
    // are never split), and every row's windows overlap, so one range per (shop, feature).
    const t0 = Date.UTC(2026, 0, 1);
    const perShop = Math.ceil(AGGREGATION_CHUNK_ROWS * 0.6);
    const rows = Array.from({ length: 6 * perShop }, (_, i) => ({ keys: { shop_id: i % 6, region: 'eu' }, asOf: t0 + ((i * 997) % HOUR) }));
    const values = await offlineAggregationRows(registry, offline, view, rows);
    assert.equal(calls.length, 6, 'three chunks, two queries each');
    const tiles = calls.filter((c) => c.sql.includes('tiles_'));
    assert.deepEqual(tiles.map((c) => (c.params[1] as unknown[]).length), [4, 4, 4], 'one range per shop and tile width (each feature has its own hop here)');
    // No events and no tiles: COUNT and SUM are 0 at every T, for every row.
    assert.ok(values.every((v) => v !== null && v.n === 0 && v.total === 0));
  });

  it('reads a tile row once for the features of its width, each taking its partial where the tile is in its window', async () => {
    const view = registry.view('shop_counts') as AggregationView;
    const t0 = Date.UTC(2026, 0, 1);
    const MINUTE = 60_000;
    const calls: { sql: string; params: readonly unknown[] }[] = [];
    // Tiles as PostgreSQL holds them: one row per (shop, 5-minute tile), the partials of both features as text.
    const stored = [
      { start: t0 + 10 * MINUTE, partial: '{"n1h":2,"n2h":2}' },
      { start: t0 + 70 * MINUTE, partial: '{"n1h":5,"n2h":5}' },
      // Written before n1h was added to the view: it has no partial for it.
      { start: t0 + 80 * MINUTE, partial: '{"n2h":7}' },
    ];
    const offline = {
      query: async <T extends Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> => {
        calls.push({ sql, params });
        return stored.map((t) => ({ __r: 0, tile_start: t.start, tile_end: t.start + 5 * MINUTE, partial: t.partial }) as unknown as T);
      },
    };
    // T on a hop: no head, so no events to read; n1h covers [T − 1h, T), n2h [T − 2h, T).
    const [values] = await offlineAggregationRows(registry, offline, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf: t0 + 120 * MINUTE }]);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.params.slice(1), [['["1","eu"]'], [5 * MINUTE], [t0], [t0 + 120 * MINUTE]], 'one range for the shop and width: the union of both windows');
    assert.deepEqual(values, { n1h: 5, n2h: 14 });
  });

  it("takes only a row's own keys as partials: a feature named constructor finds none in a row written before it", async () => {
    const view = registry.view('shop_named') as AggregationView;
    const t0 = Date.UTC(2026, 0, 1);
    const offline = {
      query: async <T extends Record<string, unknown>>(): Promise<T[]> => [{ __r: 0, tile_start: t0, tile_end: t0 + 300_000, partial: '{}' }] as unknown as T[],
    };
    assert.deepEqual(await offlineAggregationRows(registry, offline, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf: t0 + 600_000 }]), [{ constructor: 0 }]);
  });

  it('refuses a tile row whose text is not a JSON object with CORRUPT_PARTIAL, naming what it found', async () => {
    const view = registry.view('shop_counts') as AggregationView;
    const t0 = Date.UTC(2026, 0, 1);
    for (const partial of ['{"n1h":2,', '[2]', 'null']) {
      const offline = {
        query: async <T extends Record<string, unknown>>(): Promise<T[]> => [{ __r: 0, tile_start: t0, tile_end: t0 + 300_000, partial }] as unknown as T[],
      };
      await assert.rejects(
        offlineAggregationRows(registry, offline, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf: t0 + 3_600_000 }]),
        (error: Error & { code?: string }) => error.code === 'CORRUPT_PARTIAL' && error.message.includes(partial),
        partial,
      );
    }
  });

  it('does not query for rows that name no entity, nor events for a key the archive column cannot hold', async () => {
    const calls: string[] = [];
    const offline = {
      query: async <T extends Record<string, unknown>>(sql: string): Promise<T[]> => {
        calls.push(sql);
        return [];
      },
    };
    const none = await offlineAggregationRows(registry, offline, registry.view('shop_windows') as AggregationView, [{ keys: { region: 'eu' }, asOf: 0 }]);
    assert.deepEqual([none, calls], [[null], []]);
    // Till's key is an ID; Sale archives shop_id as an integer: "abc" has tiles (none), and no events to look for.
    const [till] = await offlineAggregationRows(registry, offline, registry.view('till_windows') as AggregationView, [{ keys: { shop_id: 'abc' }, asOf: HOUR + 1 }]);
    assert.deepEqual(till, { n: 0 });
    assert.equal(calls.length, 1);
    assert.match(calls[0]!, /tiles_till_windows/);
  });
});
