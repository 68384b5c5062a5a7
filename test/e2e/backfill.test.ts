/**
 * `skewless backfill` and `skewless rebuild-online` against real PostgreSQL and Redis. Events are committed
 * through the materializer's own commit as the clock moves; a view added to the schema afterwards is then
 * backfilled from the archive and must match, bit for bit, the twin view the materializer computed live
 * (tiles), the raw events (historical values at past T, and online values now). A range backfill repairs
 * damaged tiles inside its range, aligned to whole tiles, and leaves every other tile as it was. A rebuild
 * after the online store lost the test's keys restores the values it served before. After a feature's
 * slice width changes, a backfill of the last two hops makes its online values right again.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { valueAt } from '../../src/features/aggregate/finalize.ts';
import { decodeKey, onlineKey } from '../../src/features/keys.ts';
import { pushRows } from '../../src/ingest/push.ts';
import { backfillView, featureRanges } from '../../src/materializer/backfill.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { AggregationView } from '../../src/registry/types.ts';
import { offlineAggregationValues } from '../../src/serving/aggregation-offline.ts';
import { createServingContext } from '../../src/serving/context.ts';
import { onlineFrame } from '../../src/serving/online-frame.ts';
import type { Stores } from '../../src/stores/open.ts';
import { tileField } from '../../src/stores/online-pieces.ts';
import { RedisOnlineStore } from '../../src/stores/redis/online.ts';
import { RAW_EVENTS_IN_BUCKETS, RAW_EVENTS_LAYOUT_KEY } from '../../src/stores/redis/sorted-sets.ts';
import { tilesTable } from '../../src/stores/sql/materializer-tables.ts';
import { runCli } from '../helpers/cli.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { realStores, serviceUrl, uniqueName } from '../helpers/services.ts';
import { aggregationSdl, commitEvents, eventStream, oracle } from './aggregation-online.suite.ts';
import type { AggEvent } from './aggregation-online.suite.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const LIMITS = { maxEntities: 1000, maxPushRows: 10_000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000 };

/** The suite's schema, plus a row view, plus (`withNew`) a twin of its aggregation view named `<id>_new`. */
function sdl(id: string, withNew: boolean): string {
  const base = aggregationSdl(id);
  const twin = base.split('\n').slice(2).join('\n').replace(`type W${id}`, `type N${id}`).replace(`name: "${id}_w"`, `name: "${id}_new"`);
  const rowView = `type P${id} @featureView(entity: "User", name: "${id}_profile") { score: Float }`;
  return [base, rowView, ...(withNew ? [twin] : [])].join('\n');
}

interface TileRow {
  entity_key: string;
  feature: string;
  width: string;
  tile_start: string;
  tile_end: string;
  partial: string;
  version: string;
}

describe('backfill and rebuild-online: real PostgreSQL and Redis', () => {
  const id = uniqueName('bf');
  const topic = `${id}_events`;
  const users = Array.from({ length: 6 }, (_, u) => `${id}-u${u}`);
  const now = Date.now();
  let stores: Stores;
  let registry: Registry;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let events: AggEvent[];

  const view = (name: string) => registry.view(`${id}_${name}`) as AggregationView;
  const online = async (names: readonly string[], asOf: number) => {
    const ctx = createServingContext({ registry, stores, limits: LIMITS, now: () => asOf });
    const frame = await onlineFrame(ctx, { features: names.map((n) => `${id}_${n}`), entities: users.map((u) => ({ user_id: u })) });
    assert.deepEqual(frame.errors, []);
    return frame.rows.map((row) => row.slice(1));
  };
  const tiles = (name: string) =>
    stores.offline.query<TileRow & Record<string, unknown>>(
      // One line per (entity, feature, tile), out of the rows that hold a tile's features together (and
      // the span of its events, which is not a feature).
      `select entity_key, f.key as feature, width::text, tile_start::text, (tile_start + width)::text as tile_end, f.value::text as partial, version::text ` +
        `from ${tilesTable(`${id}_${name}`)}, jsonb_each(partial::jsonb) f where f.key <> '$events' order by entity_key, feature, tile_start`,
    );
  const cli = (args: readonly string[]) => runCli([...args, '--schema', path.join(dir, 'schema'), '--transforms', path.join(dir, 'transforms')], env);

  before(async () => {
    stores = await realStores();
    // The schema the materializer ran with: no `_new` view yet.
    const old = await registryFromSdl(sdl(id, false));
    await stores.offline.ensureSchema(old);
    // Two days of history, then two hours up to now in 10-minute batches, each at its own clock.
    const start = Math.floor((now - 2 * HOUR) / MIN) * MIN + 17_000;
    const history = eventStream(11, users, start - 2 * 24 * HOUR, 2 * 24 * HOUR, 500);
    const live = eventStream(12, users, start, 2 * HOUR, 400);
    await commitEvents(old, stores, topic, history, 0, start);
    let offset = history.length;
    for (let from = start; from < start + 2 * HOUR; from += 10 * MIN) {
      const batch = live.filter((e) => e.messageTs >= from && e.messageTs < from + 10 * MIN);
      await commitEvents(old, stores, topic, batch, offset, Math.min(from + 10 * MIN, now));
      offset += batch.length;
    }
    events = [...history, ...live];
    await pushRows(old, stores, `${id}_profile`, users.map((u, i) => ({ user_id: u, event_timestamp: now - i * MIN, score: i / 3 })), { arrivalMs: now, maxRows: 100 });

    // Then the view is added to the schema.
    registry = await registryFromSdl(sdl(id, true));
    dir = await mkdtemp(path.join(tmpdir(), 'skewless-backfill-'));
    await mkdir(path.join(dir, 'schema'));
    await mkdir(path.join(dir, 'transforms'));
    await writeFile(path.join(dir, 'schema', 'views.graphql'), sdl(id, true));
    env = { ...process.env, DATABASE_URL: serviceUrl('DATABASE_URL'), REDIS_URL: serviceUrl('REDIS_URL'), SKEWLESS_DEMO: 'off' };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await stores.online.close();
    await stores.offline.close();
  });

  /** Every user's values of the view at each T, from PostgreSQL, against valueAt over the raw events. */
  const checkHistorical = async (checked: AggregationView, times: readonly number[]): Promise<void> => {
    for (const asOf of times) {
      for (const user of users) {
        const got = await offlineAggregationValues(registry, stores.offline, checked, { user_id: user }, asOf);
        const raw = events.filter((e) => e.user === user).map((e) => ({ time: e.eventTs, row: e.fields }));
        for (const f of checked.features) {
          const want = valueAt(f, [], raw, asOf);
          assert.ok(Object.is(got[f.name], want), `${user} ${f.name} at ${new Date(asOf).toISOString()}: backfilled ${String(got[f.name])}, oracle ${String(want)}`);
        }
      }
    }
  };

  it('computes a view added after its events were archived exactly as the materializer computed its twin', async () => {
    const progress: [number, number][] = [];
    const result = await backfillView(registry, stores, view('new'), { chunkEvents: 97, now, onProgress: (done, total) => progress.push([done, total]) });
    assert.equal(result.events, events.length);
    assert.deepEqual(progress[0], [0, events.length]);
    assert.deepEqual(progress.at(-1), [events.length, events.length]);
    assert.equal(progress.length, 1 + Math.ceil(events.length / 97), 'one report per chunk');
    assert.ok(result.onlineEntities >= users.length);

    // The tiles: the same rows, the same partials, bit for bit (versions count merges, so they differ).
    const strip = (rows: TileRow[]) => rows.map(({ version: _, ...rest }) => rest);
    const live = await tiles('w');
    assert.ok(live.length > 500);
    assert.deepEqual(strip(await tiles('new')), strip(live));
    // And each tile's span of event times (event-span.ts), which decides which of its slices are written.
    const spans = (name: string) =>
      stores.offline.query<{ entity_key: string; span: string }>(`select entity_key, width::text, tile_start::text, (partial::jsonb -> '$events')::text as span from ${tilesTable(`${id}_${name}`)} order by 1, 2, 3`);
    const liveSpans = await spans('w');
    assert.ok(liveSpans.length > 100 && liveSpans.every((r) => /^\[\d+, \d+\]$/.test(r.span)), `every live tile has a span: ${liveSpans[0]?.span}`);
    assert.deepEqual(await spans('new'), liveSpans);

    // Historical values at past T, from the recomputed tiles and heads: the oracle over the raw events.
    const rebuilt = view('new');
    await checkHistorical(rebuilt, [now - 30 * HOUR + 1234, now - 5 * HOUR - 17, now - 40 * MIN + 3]);

    // Online values now, served from the pieces the backfill wrote.
    const asOf = now + 1500;
    const served = await online(['new'], asOf);
    users.forEach((user, u) => assert.deepEqual(served[u], oracle(rebuilt, events.filter((e) => e.user === user), asOf), user));
  });

  it('repairs damaged tiles inside --from/--to, aligned to whole tiles, and touches no other tile', async () => {
    const before = await tiles('w');
    const maxVersion = Math.max(...before.map((t) => Number(t.version)));
    const from = now - 20 * HOUR - 7 * MIN - 4321;
    const to = from + 3 * HOUR + 1;
    const ranges = new Map(featureRanges(view('w'), { from, to }).map((r) => [r.feature, r]));
    const inside = (t: TileRow) => Number(t.tile_start) >= ranges.get(t.feature)!.from! && Number(t.tile_start) < ranges.get(t.feature)!.to!;
    const damaged = before.filter(inside);
    assert.ok(damaged.length > 20 && damaged.length < before.length / 2, `${damaged.length} of ${before.length} tiles in range`);
    // Damage: half of the range's tiles lose their events' contributions, the rest are deleted.
    const table = tilesTable(`${id}_w`);
    const half = damaged.filter((_, i) => i % 2 === 0);
    await stores.offline.query(
      `update ${table} t set partial = jsonb_set(t.partial::jsonb, array[u.f], '{"damaged":1}'::jsonb)::text from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) as u(k, f, w, s) where (t.entity_key, t.width, t.tile_start) = (u.k, u.w, u.s)`,
      [half.map((t) => t.entity_key), half.map((t) => t.feature), half.map((t) => t.width), half.map((t) => t.tile_start)],
    );
    // Deleting a row deletes every feature of its tile group; the backfill must bring back all of them.
    const rest = damaged.filter((_, i) => i % 2 === 1);
    await stores.offline.query(`delete from ${table} where (entity_key, width, tile_start) in (select * from unnest($1::text[], $2::bigint[], $3::bigint[]))`, [
      rest.map((t) => t.entity_key),
      rest.map((t) => t.width),
      rest.map((t) => t.tile_start),
    ]);

    const run = await cli(['backfill', `${id}_w`, '--from', new Date(from).toISOString(), '--to', new Date(to).toISOString()]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`backfilled ${id}_w from .* tile and slice merges`));
    assert.match(run.stderr, new RegExp(`backfilled ${id}_w: [\\d,]+ events in`));

    const after = await tiles('w');
    const key = (t: TileRow) => `${t.entity_key} ${t.feature} ${t.tile_start}`;
    const byKey = new Map(after.map((t) => [key(t), t]));
    assert.equal(after.length, before.length);
    for (const t of before) {
      const now_ = byKey.get(key(t));
      assert.ok(now_, `${key(t)} is back`);
      if (inside(t)) {
        assert.equal(now_.partial, t.partial, `${key(t)} recomputed`);
        assert.ok(Number(now_.version) > maxVersion, `${key(t)}: version ${now_.version} is newer than any before (${maxVersion})`);
      } else {
        assert.deepEqual(now_, t, `${key(t)} untouched`);
      }
    }
    // The online store took the recomputed tiles it keeps: their new versions beat the old ones.
    assert.ok(stores.online instanceof RedisOnlineStore);
    const client = stores.online.client;
    let rewritten = 0;
    for (const t of after.filter(inside)) {
      const stored = await client.hget(onlineKey('User', decodeKey(t.entity_key, 1)[0]!, `${id}_w`), tileField(Number(t.width), Number(t.tile_start)));
      if (stored === null) continue;
      assert.ok(stored.startsWith(`${t.version}|`), `${key(t)} online at version ${t.version}: ${stored.slice(0, 20)}`);
      // One field per tile group: every feature's partial of the tile, as the PostgreSQL row holds them.
      assert.deepEqual((JSON.parse(stored.slice(stored.indexOf('|') + 1)) as Record<string, unknown>)[t.feature], JSON.parse(t.partial), key(t));
      rewritten++;
    }
    assert.ok(rewritten > 5, `${rewritten} repaired tiles are online`);
    // The range's heads were rewritten whole, each event once: historical values in, at and past its edges are the oracle's.
    await checkHistorical(view('w'), [from + 1, from + HOUR + 7 * MIN, to - 1, to + 5 * MIN]);
  });

  it('refuses an unknown view with a suggestion, and a row view, which has no archive', async () => {
    const unknown = await cli(['backfill', `${id}_nex`]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, new RegExp(`unknown feature view "${id}_nex" \\(did you mean "${id}_new"\\?\\) \\(UNKNOWN_VIEW\\)`));
    const row = await cli(['backfill', `${id}_profile`]);
    assert.equal(row.code, 1);
    assert.match(row.stderr, /is a row view: .*no event archive to recompute it from.*\(NOT_AN_AGGREGATION_VIEW\)/);
    const usage = await cli(['backfill', `${id}_w`, '--from', 'yesterday']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--from must be a time, got "yesterday"/);
    const empty = await cli(['backfill', `${id}_w`, '--from', '2026-01-02', '--to', '2026-01-01']);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /range is empty.*\(INVALID_RANGE\)/);
  });

  it('rebuild-online restores what the online store served after it lost the keys', async () => {
    const asOf = Date.now();
    const views = ['w', 'new', 'profile'];
    const before = await online(views, asOf);
    assert.ok(before.every((row) => row.some((v) => v !== null && v !== 0)), 'every user has values');
    // FLUSHALL, for this test's keys: the Redis server is shared with other tests.
    assert.ok(stores.online instanceof RedisOnlineStore);
    await stores.online.client.del(...views.flatMap((v) => users.map((u) => onlineKey('User', u, `${id}_${v}`))));
    const lost = await online(views, asOf);
    assert.notDeepEqual(lost, before);

    const run = await cli(['rebuild-online']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`${id}_profile: ${users.length} entities`));
    assert.match(run.stderr, /rebuilt 3 views in/);
    assert.deepEqual(await online(views, asOf), before);
    // Its aggregation views are marked as having no sorted set of raw events left (the rebuild retires them).
    const marks = await stores.online.client.hmget(RAW_EVENTS_LAYOUT_KEY, `${id}_w`, `${id}_new`);
    await stores.online.client.hdel(RAW_EVENTS_LAYOUT_KEY, `${id}_w`, `${id}_new`);
    assert.deepEqual(marks, [RAW_EVENTS_IN_BUCKETS, RAW_EVENTS_IN_BUCKETS]);
  });

  it("restores a feature's online values after its slice width changed, backfilled from two hops back", async () => {
    // The schema changes qty3d (1h hop) from the default 1m slices to 20s ones: the gateway then reads the
    // head tile's 20s slices, which nothing has written yet.
    const declared = `qty3d: Int! @aggregate(fn: SUM, of: "qty", window: "3d")`;
    assert.ok(sdl(id, true).includes(declared));
    const changed = await registryFromSdl(sdl(id, true).replace(declared, `qty3d: Int! @aggregate(fn: SUM, of: "qty", window: "3d", slice: "20s")`));
    const w = changed.view(`${id}_w`) as AggregationView;
    const q = w.features.findIndex((f) => f.name === 'qty3d');
    assert.equal(w.features[q]!.aggregation!.sliceMs, 20_000);
    const asOf = Date.now();
    const served = async () => {
      const ctx = createServingContext({ registry: changed, stores, limits: LIMITS, now: () => asOf });
      const frame = await onlineFrame(ctx, { features: [`${id}_w:qty3d`], entities: users.map((u) => ({ user_id: u })) });
      assert.deepEqual(frame.errors, []);
      return frame.rows.map((row) => row[1]);
    };
    const want = users.map((u) => oracle(w, events.filter((e) => e.user === u), asOf)[q]);
    // Before the backfill a user whose head tile is read by its slices (its events straddle T: headRule)
    // and has events (with a qty) before T's 20s slice is served short; a head tile whose events all
    // precede T is taken whole, and is right.
    const head = Math.floor(asOf / HOUR) * HOUR;
    const missed = users.map((u) => {
      const inHead = events.filter((e) => e.user === u && e.eventTs >= head && e.eventTs < head + HOUR);
      const straddles = inHead.some((e) => e.eventTs < asOf) && inHead.some((e) => e.eventTs >= asOf);
      return straddles && inHead.some((e) => e.eventTs < Math.floor(asOf / 20_000) * 20_000 && Number(e.fields.qty) > 0);
    });
    const stale = await served();
    users.forEach((u, k) => assert.equal(stale[k] !== want[k], missed[k], `${u} before the backfill`));

    await backfillView(changed, stores, w, { chunkEvents: 500, range: { from: asOf - 2 * HOUR }, now: asOf });
    assert.deepEqual(await served(), want);
    assert.ok(stores.online instanceof RedisOnlineStore);
    const fields = await Promise.all(users.map((u) => stores.online instanceof RedisOnlineStore && stores.online.client.hkeys(onlineKey('User', u, `${id}_w`))));
    assert.ok(fields.flat().some((f) => typeof f === 'string' && f.startsWith('S:20000:')), 'the new width is written online');
  });
});
