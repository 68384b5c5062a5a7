/** The offline aggregation reader's pure parts: grouping, range merging, binary search, its SQL, its query count. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Registry } from '../../../src/registry/registry.ts';
import type { AggregationView } from '../../../src/registry/types.ts';
import { lowerBound } from '../../../src/features/sorted.ts';
import { AGGREGATION_CHUNK_ROWS, groupByEntity, mergeRanges, offlineAggregationRows, tilesSql } from '../../../src/serving/aggregation-offline.ts';
import { headsSql } from '../../../src/stores/sql/heads-tables.ts';
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

  it('reads tiles and heads with one index-walking lookup per range', () => {
    const view = registry.view('shop_windows') as AggregationView;
    assert.equal(
      tilesSql(view),
      'select r.i as "__r", t.tile_start::float8 as tile_start, (t.tile_start + r.w)::float8 as tile_end, t.partial ' +
        'from unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) as r(i, k, w, s, e) ' +
        'cross join lateral (select tile_start, partial from skewless."tiles_shop_windows" where entity_key = r.k and width = r.w and tile_start >= r.s and tile_start < r.e offset 0) t',
    );
    assert.equal(
      headsSql(view),
      'select r.i as "__r", h.events from unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[]) as r(i, k, s, e) ' +
        'cross join lateral (select events from skewless."heads_shop_windows" where entity_key = r.k and bucket_start >= r.s and bucket_start < r.e offset 0) h',
    );
  });

  it('reads each heads bucket once per entity and keeps only the events in a row\'s head', async () => {
    const view = registry.view('shop_windows') as AggregationView;
    const MINUTE = 60_000;
    const t0 = Date.UTC(2026, 0, 1);
    const calls: { sql: string; params: readonly unknown[] }[] = [];
    const member = (time: number, offset: number, amount: number) => `${time}:sales/0/${offset}|{"amount":${amount}}\n`;
    const offline = {
      query: async <T extends Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> => {
        calls.push({ sql, params });
        if (!sql.includes('heads_')) return [];
        // One bucket (the finest hop, 5 minutes) from two commits: events before, inside and after the head.
        return [
          { __r: 0, events: member(t0 + 6 * MINUTE, 1, 1) + member(t0 + 10 * MINUTE, 2, 10) },
          { __r: 0, events: member(t0 + 11 * MINUTE, 3, 100) + member(t0 + 14 * MINUTE, 4, 1000) },
        ] as unknown as T[];
      },
    };
    // T = 00:12: n (5 m hop) has the head [00:10, 00:12); total (1 d hop, 1 h by default) [00:00, 00:12).
    const [values] = await offlineAggregationRows(registry, offline, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf: t0 + 12 * MINUTE }]);
    const heads = calls.find((c) => c.sql.includes('heads_'))!;
    assert.deepEqual(heads.params.slice(1), [['["1","eu"]'], [t0], [t0 + 12 * MINUTE]], "one range: the entity's buckets from the widest hop's head to T");
    assert.deepEqual(values, { n: 2, total: 111 }, 'the event at 00:14 is after T; the one at 00:06 is in n\'s completed tiles, not its head');
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
    // T on a hop: no head, so no events to read; n1h covers [T − 1h, T), n2h [T − 2h, T). The head tile,
    // [T, T + 5m), is asked for too (its span may settle the head), though there is none here.
    const [values] = await offlineAggregationRows(registry, offline, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf: t0 + 120 * MINUTE }]);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.params.slice(1), [['["1","eu"]'], [5 * MINUTE], [t0], [t0 + 125 * MINUTE]], 'one range for the shop and width: the union of both windows and the head tile');
    assert.deepEqual(values, { n1h: 5, n2h: 14 });
  });

  it("settles a row's head by its head tile when the tile's span does not straddle T, reading its heads events only when it does", async () => {
    const view = registry.view('shop_counts') as AggregationView;
    const t0 = Date.UTC(2026, 0, 1);
    const MINUTE = 60_000;
    const member = (time: number, offset: number) => `${time}:sales/0/${offset}|{}\n`;
    const [a, b, c] = [t0 + 11 * MINUTE, t0 + 11 * MINUTE, t0 + 13 * MINUTE];
    /** A reader whose store holds one head tile [00:10, 00:15) and the given heads text. */
    const read = async (count: number, span: readonly number[], heads: string, asOf: number) => {
      const offline = {
        query: async <T extends Record<string, unknown>>(sql: string): Promise<T[]> =>
          (sql.includes('heads_')
            ? heads === '' ? [] : [{ __r: 0, events: heads }]
            : [{ __r: 0, tile_start: t0 + 10 * MINUTE, tile_end: t0 + 15 * MINUTE, partial: `{"n1h":${count},"n2h":${count},"$events":${JSON.stringify(span)}}` }]) as unknown as T[],
      };
      const [values] = await offlineAggregationRows(registry, offline, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf }]);
      return values!.n1h;
    };
    // Two events at one time and no heads events (as a writer that keeps a single-time tile's events raw
    // nowhere leaves it): the tile is the head once T is past them, and nothing before.
    assert.equal(await read(2, [a, b], '', t0 + 12 * MINUTE), 2);
    assert.equal(await read(2, [a, b], '', a), 0);
    // Its events in the heads as well: counted once, not twice.
    assert.equal(await read(2, [a, b], member(a, 1) + member(b, 2), t0 + 12 * MINUTE), 2);
    // Straddling T: the heads' events before T.
    const all = member(a, 1) + member(b, 2) + member(c, 3);
    assert.equal(await read(3, [a, c], all, t0 + 12 * MINUTE), 2);
    assert.equal(await read(3, [a, c], all, c), 2, 'T at its last event: straddled');
    assert.equal(await read(3, [a, c], '', c + 1), 3, 'past its last event: the tile');
    // A head tile without a feature's partial (n2h added to the view after it was written) holds none of
    // its events, whatever the heads hold, as the online read takes it.
    const added = {
      query: async <T extends Record<string, unknown>>(sql: string): Promise<T[]> =>
        (sql.includes('heads_') ? [{ __r: 0, events: member(a, 1) + member(b, 2) }] : [{ __r: 0, tile_start: t0 + 10 * MINUTE, tile_end: t0 + 15 * MINUTE, partial: `{"n1h":2,"$events":[${a},${b}]}` }]) as unknown as T[],
    };
    const [withAdded] = await offlineAggregationRows(registry, added, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf: t0 + 12 * MINUTE }]);
    assert.deepEqual(withAdded, { n1h: 2, n2h: 0 });
    // A tile with no span (written before spans): its heads' events, as before.
    const offline = {
      query: async <T extends Record<string, unknown>>(sql: string): Promise<T[]> =>
        (sql.includes('heads_') ? [{ __r: 0, events: member(a, 1) }] : [{ __r: 0, tile_start: t0 + 10 * MINUTE, tile_end: t0 + 15 * MINUTE, partial: '{"n1h":5,"n2h":5}' }]) as unknown as T[],
    };
    const [values] = await offlineAggregationRows(registry, offline, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf: t0 + 14 * MINUTE }]);
    assert.equal(values!.n1h, 1);
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

  it('refuses a heads row holding an event that is not <time>:<position>|<json object> with CORRUPT_HEAD, naming view, entity and event', async () => {
    const view = registry.view('shop_windows') as AggregationView;
    const t0 = Date.UTC(2026, 0, 1);
    for (const member of ['garbage', `${t0}:sales/0/1|{"amount":`, `${t0}:sales/0/1|[1]`]) {
      const offline = {
        query: async <T extends Record<string, unknown>>(sql: string): Promise<T[]> => (sql.includes('heads_') ? ([{ __r: 0, events: `${member}\n` }] as unknown as T[]) : []),
      };
      await assert.rejects(
        offlineAggregationRows(registry, offline, view, [{ keys: { shop_id: 1, region: 'eu' }, asOf: t0 + 60_000 }]),
        (error: Error & { code?: string }) => error.code === 'CORRUPT_HEAD' && error.message.includes('shop_windows') && error.message.includes(JSON.stringify('["1","eu"]')) && error.message.includes(JSON.stringify(member)),
        member,
      );
    }
  });

  it('does not query for rows that name no entity, and looks any other key up as text, as the materializer keyed it', async () => {
    const calls: { sql: string; params: readonly unknown[] }[] = [];
    const offline = {
      query: async <T extends Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> => {
        calls.push({ sql, params });
        return [];
      },
    };
    const none = await offlineAggregationRows(registry, offline, registry.view('shop_windows') as AggregationView, [{ keys: { region: 'eu' }, asOf: 0 }]);
    assert.deepEqual([none, calls], [[null], []]);
    // Till's key is an ID and Sale archives shop_id as an integer: "abc" names no till there, so it has nothing, and no cast can fail.
    const [till] = await offlineAggregationRows(registry, offline, registry.view('till_windows') as AggregationView, [{ keys: { shop_id: 'abc' }, asOf: HOUR + 1 }]);
    assert.deepEqual(till, { n: 0 });
    assert.deepEqual(
      calls.map((c) => [/tiles_till_windows|heads_till_windows/.exec(c.sql)?.[0], (c.params[1] as string[])[0]]),
      [['tiles_till_windows', 'abc'], ['heads_till_windows', 'abc']],
    );
  });
});
