/**
 * Aggregation views' values from the offline store, for many (entity, T) rows at once: what
 * historicalFeatures, the training-set export and the on-demand views they feed read.
 *
 * The value of a feature at T covers [floor_hop(T − window), T): its completed tiles in
 * [floor_hop(T − window), floor_hop(T)) (skewless.tiles_<view>) plus the head, [floor_hop(T), T): the head
 * tile whole when its events all precede T, nothing when none do, and otherwise the raw events of the
 * head from the view's heads (skewless.heads_<view>, materializer/heads.ts: the same members the online
 * store holds, parsed the same way), as the online read decides (headRule, event-span.ts); finalised by
 * the one function every path uses (features/aggregate/finalize.ts). Values therefore decay with no new
 * events: T moves, old tiles drop out.
 *
 * Per chunk of rows, two queries whatever the number of rows: one for the tiles of every entity of the
 * chunk and one for their head events, each driven by an unnest of (entity, time range) with the ranges of
 * one entity's rows merged, so an entity with many rows reads each tile and event once. A tile row holds
 * the partials of every feature of its width (hop) as JSON text: it is read and parsed once for all the
 * features that need it. Rows are then
 * computed per entity in T order: tiles and events are sorted once, each row finds its own by binary
 * search, and consecutive rows in the same head tile share their merged tiles.
 */
import { aggregatorFor } from '../features/aggregate/aggregators.ts';
import { partialIn } from '../features/aggregate/aggregator.ts';
import { valueAt, windowPartial } from '../features/aggregate/finalize.ts';
import type { SourceEvent, Span } from '../features/aggregate/finalize.ts';
import { headRule, storedSpan } from '../features/aggregate/event-span.ts';
import type { EventSpan } from '../features/aggregate/event-span.ts';
import { encodeKey, entityKey } from '../features/keys.ts';
import { lowerBound } from '../features/sorted.ts';
import { floorHop, windowRange } from '../features/windows.ts';
import type { Registry } from '../registry/registry.ts';
import { corruptHead, eachHeadEvent, headsBucketWidth } from '../materializer/heads.ts';
import type { Aggregation, AggregationView, Entity, Feature } from '../registry/types.ts';
import type { OfflineStore } from '../stores/types.ts';
import { headsSql } from '../stores/sql/heads-tables.ts';
import { storedPartials, tilesTable } from '../stores/sql/materializer-tables.ts';
import type { StoredPartial } from '../stores/sql/materializer-tables.ts';

/** One row to compute: the entity's join keys (as an entity row carries them) and the instant T. */
export interface AggregationRow {
  readonly keys: Readonly<Record<string, unknown>>;
  /** T, epoch ms; undefined when the row has none (an entitySql row with a null event_timestamp). */
  readonly asOf: number | undefined;
}

/**
 * Rows read per pair of queries, about: an entity's rows are never split, so a chunk may hold more. Bounds
 * the size of the queries' parameters and of the tiles and events held at once.
 */
export const AGGREGATION_CHUNK_ROWS = 2000;

/**
 * The values of `features` (default: all of the view's) at each row's T: one entry per row, in order,
 * with every feature by name — or null for a row that names no entity (a join key missing or invalid) or
 * has no T. A store failure rejects the whole call.
 */
export async function offlineAggregationRows(
  registry: Registry,
  offline: Pick<OfflineStore, 'query'>,
  view: AggregationView,
  rows: readonly AggregationRow[],
  features: readonly Feature[] = view.features,
): Promise<(Record<string, unknown> | null)[]> {
  const out = new Array<Record<string, unknown> | null>(rows.length).fill(null);
  if (features.length === 0) return out;
  const entity = registry.entity(view.entity)!;
  const reader = new WindowReader(view, features);
  const chunks = [...chunked(groupByEntity(entity, rows))];
  const read = (chunk: EntityGroup[]) => Promise.all([reader.readTiles(offline, chunk), reader.readEvents(offline, chunk)]);
  // One chunk ahead: the database reads the next chunk while this one is computed here.
  let next = chunks.length > 0 ? read(chunks[0]!) : undefined;
  for (let c = 0; c < chunks.length; c++) {
    const [tiles, events] = await next!;
    next = c + 1 < chunks.length ? read(chunks[c + 1]!) : undefined;
    // Settled later, or never if computing this chunk throws: not an unhandled rejection meanwhile.
    next?.catch(() => undefined);
    chunks[c]!.forEach((group, g) => reader.compute(group, tiles[g]!, events[g]!, out));
  }
  return out;
}

/** One entity's values at T: `offlineAggregationRows` for one row; throws for keys that name no entity. */
export async function offlineAggregationValues(registry: Registry, offline: Pick<OfflineStore, 'query'>, view: AggregationView, keys: Readonly<Record<string, unknown>>, asOf: number): Promise<Record<string, unknown>> {
  const key = entityKey(registry.entity(view.entity)!, keys);
  if (!key.ok) throw new Error(key.reason);
  const [values] = await offlineAggregationRows(registry, offline, view, [{ keys, asOf }]);
  return values!;
}

/** One entity's rows: its key, its join key values (text) and its rows as (row index, T), in T order. */
export interface EntityGroup {
  readonly key: string;
  readonly values: readonly string[];
  readonly rows: readonly { readonly index: number; readonly asOf: number }[];
}

/** Rows grouped by entity (groups in first-seen order), each group sorted by T; keyless rows left out. */
export function groupByEntity(entity: Entity, rows: readonly AggregationRow[]): EntityGroup[] {
  const groups = new Map<string, { key: string; values: readonly string[]; rows: { index: number; asOf: number }[] }>();
  rows.forEach((row, index) => {
    if (row.asOf === undefined || !Number.isSafeInteger(row.asOf)) return;
    const values: string[] = [];
    for (const field of entity.joinKeys) {
      const text = keyText(row.keys[field.name]);
      if (text === undefined) return;
      values.push(text);
    }
    const key = encodeKey(values);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { key, values, rows: [] }));
    group.rows.push({ index, asOf: row.asOf });
  });
  const out = [...groups.values()];
  for (const group of out) group.rows.sort((a, b) => a.asOf - b.asOf);
  return out;
}

/**
 * A join key value as text, compared the way the as-of join compares keys (as SQL text): a string as it
 * is, a number or boolean spelled out. Inline entity rows are checked before they get here (entity-rows.ts);
 * entitySql rows carry whatever their columns hold, and a row whose key is missing or empty names no entity.
 */
function keyText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return undefined;
}

function* chunked(groups: readonly EntityGroup[]): Generator<EntityGroup[]> {
  let chunk: EntityGroup[] = [];
  let size = 0;
  for (const group of groups) {
    chunk.push(group);
    size += group.rows.length;
    if (size >= AGGREGATION_CHUNK_ROWS) {
      yield chunk;
      chunk = [];
      size = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Merges ranges [from, to) given in ascending order of `from` into disjoint ones; empty ranges vanish.
 * Ranges that touch are joined: a tile or event is read once however many rows need it.
 */
export function mergeRanges(ranges: Iterable<readonly [number, number]>): [number, number][] {
  const out: [number, number][] = [];
  for (const [from, to] of ranges) {
    if (to <= from) continue;
    const last = out[out.length - 1];
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** A tile as read: its partial decoded, and its event span (undefined: a row from before spans). */
interface StoredTile extends Span {
  readonly events: EventSpan | undefined;
}

/** One feature's tiles for one entity (completed and head tiles), sorted by start, decoded. */
interface FeatureTiles {
  readonly starts: number[];
  readonly spans: StoredTile[];
}

/** The features of one tile width (their hop), by index into the reader's features. */
interface WidthGroup {
  readonly width: number;
  readonly features: readonly number[];
}

/** Whether t lies in one of `ranges` (disjoint, ascending): a binary search over their starts. */
function inRanges(ranges: readonly (readonly [number, number])[], t: number): boolean {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]![0] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t < ranges[lo - 1]![1];
}

/** One entity's head events, sorted by time. */
interface EntityEvents {
  readonly times: number[];
  readonly events: SourceEvent[];
}

/** Reading and computing one view's features; the SQL is built once per call. */
class WindowReader {
  readonly #view: AggregationView;
  readonly #features: readonly Feature[];
  readonly #widths: readonly WidthGroup[];
  readonly #tilesSql: string;
  readonly #headsSql: string;
  readonly #bucketMs: number;

  constructor(view: AggregationView, features: readonly Feature[]) {
    this.#view = view;
    this.#features = features;
    const widths = new Map<number, number[]>();
    features.forEach((f, i) => {
      const width = f.aggregation!.hopMs;
      let indexes = widths.get(width);
      if (indexes === undefined) widths.set(width, (indexes = []));
      indexes.push(i);
    });
    this.#widths = [...widths].map(([width, indexes]) => ({ width, features: indexes }));
    this.#tilesSql = tilesSql(view);
    this.#headsSql = headsSql(view);
    this.#bucketMs = headsBucketWidth(view);
  }

  /**
   * Per group, per feature: the tiles every row of the group needs, in one query. Each (entity, width) is
   * read over the ranges its features need, merged; a tile's partial text is parsed once, and each feature
   * takes its partial from it where the tile lies in that feature's own ranges.
   */
  async readTiles(offline: Pick<OfflineStore, 'query'>, groups: readonly EntityGroup[]): Promise<FeatureTiles[][]> {
    const owner: [number, number][] = [];
    const params: [string[], number[], number[], number[]] = [[], [], [], []];
    // Each row's completed tiles and its head tile: [from, head + hop).
    const wanted = groups.map((group) =>
      this.#features.map((feature) =>
        mergeRanges(group.rows.map((r) => {
          const { from, head } = edges(feature.aggregation!, r.asOf);
          return [from, head + feature.aggregation!.hopMs] as const;
        })),
      ),
    );
    groups.forEach((group, g) => {
      this.#widths.forEach(({ width, features }, w) => {
        for (const [from, to] of mergeRanges(features.flatMap((f) => wanted[g]![f]!).sort((a, b) => a[0] - b[0]))) {
          owner.push([g, w]);
          params[0].push(group.key);
          params[1].push(width);
          params[2].push(from);
          params[3].push(to);
        }
      });
    });
    const out = groups.map(() => this.#features.map((): FeatureTiles => ({ starts: [], spans: [] })));
    if (owner.length === 0) return out;
    const found = await offline.query<{ __r: number; tile_start: number; tile_end: number; partial: StoredPartial }>(this.#tilesSql, [owner.map((_, i) => i), ...params]);
    const aggregators = this.#features.map((f) => aggregatorFor(f.aggregation!));
    for (const tile of found) {
      const [g, w] = owner[tile.__r]!;
      const partials = storedPartials(tile.partial);
      const events = storedSpan(partials);
      for (const f of this.#widths[w]!.features) {
        if (!inRanges(wanted[g]![f]!, tile.tile_start)) continue;
        const held = partialIn(partials, this.#features[f]!.name);
        // No partial: the feature was added to the view after this tile was written, so none of its events
        // are here: an empty partial (a head tile then settles its head as the online read does, headRule).
        const partial = held === undefined || held === null ? aggregators[f]!.empty() : aggregators[f]!.decode(held);
        out[g]![f]!.spans.push({ start: tile.tile_start, end: tile.tile_end, partial, events });
      }
    }
    for (const features of out) {
      for (const { starts, spans } of features) {
        spans.sort((a, b) => a.start - b.start);
        for (const span of spans) starts.push(span.start);
      }
    }
    return out;
  }

  /**
   * Per group: the events of every row's head, [floor_hop(T) of the widest hop, T), in one query. The
   * view's heads are read as whole buckets, the buckets of one entity's ranges merged (so no row is read
   * twice), and each event kept only where it lies in one of those ranges.
   */
  async readEvents(offline: Pick<OfflineStore, 'query'>, groups: readonly EntityGroup[]): Promise<EntityEvents[]> {
    const owner: number[] = [];
    const keys: string[] = [];
    const from: number[] = [];
    const to: number[] = [];
    const ranges = groups.map((group, g) => {
      const heads = mergeRanges(group.rows.map((r) => [Math.min(...this.#features.map((f) => floorHop(r.asOf, f.aggregation!.hopMs))), r.asOf] as const));
      for (const [start, end] of mergeRanges(heads.map(([start, end]) => [floorHop(start, this.#bucketMs), end] as const))) {
        owner.push(g);
        keys.push(group.key);
        from.push(start);
        to.push(end);
      }
      return heads;
    });
    const out = groups.map((): EntityEvents => ({ times: [], events: [] }));
    if (owner.length === 0) return out;
    const found = await offline.query<{ __r: number; events: string }>(this.#headsSql, [owner.map((_, i) => i), keys, from, to]);
    for (const { __r, events } of found) {
      const g = owner[__r]!;
      eachHeadEvent(this.#view, groups[g]!.key, events, (time, member, json) => {
        if (inRanges(ranges[g]!, time)) out[g]!.events.push({ time, row: parseInputs(this.#view, groups[g]!.key, member, json) });
      });
    }
    for (const entity of out) {
      entity.events.sort((a, b) => a.time - b.time);
      for (const event of entity.events) entity.times.push(event.time);
    }
    return out;
  }

  /** Every row of one entity, in T order, into `out` (indexed by row). */
  compute(group: EntityGroup, tiles: readonly FeatureTiles[], head: EntityEvents, out: (Record<string, unknown> | null)[]): void {
    // Rows in one head tile share their completed tiles: merged once, handed to valueAt as one piece.
    const merged = this.#features.map(() => ({ head: NaN, spans: [] as Span[] }));
    for (const { index, asOf } of group.rows) {
      const values: Record<string, unknown> = {};
      this.#features.forEach((feature, f) => {
        const aggregation = feature.aggregation!;
        const plan = edges(aggregation, asOf);
        const cached = merged[f]!;
        const { starts, spans } = tiles[f]!;
        if (cached.head !== plan.head) {
          const lo = lowerBound(starts, plan.from);
          const hi = lowerBound(starts, plan.head);
          // windowPartial at floor_hop(T) covers exactly [from, head), refusing a tile that crosses either edge.
          cached.spans = lo === hi ? [] : [{ start: plan.from, end: plan.head, partial: windowPartial(aggregation, spans.slice(lo, hi), [], plan.head) }];
          cached.head = plan.head;
        }
        // The head tile, if stored: its span may settle the head (headRule), as the online read decides.
        const at = lowerBound(starts, plan.head);
        const tile = starts[at] === plan.head ? spans[at]! : undefined;
        const rule = tile === undefined ? 'split' : headRule(tile.events, asOf);
        if (rule === 'split') {
          const events = head.events.slice(lowerBound(head.times, plan.head), lowerBound(head.times, asOf));
          values[feature.name] = valueAt(feature, cached.spans, events, asOf);
        } else {
          const pieces = rule === 'whole' ? [...cached.spans, { start: plan.head, end: tile!.events!.hi + 1, partial: tile!.partial }] : cached.spans;
          values[feature.name] = valueAt(feature, pieces, [], asOf);
        }
      });
      out[index] = values;
    }
  }
}

/*
 * Both reads are LATERAL lookups, one index range scan per (entity, range) — the tiles' primary key
 * (entity_key, width, tile_start), the heads' (entity_key, bucket_start) index — never a scan of the
 * table: with thousands of ranges the planner otherwise prefers sorting the whole table for a merge join
 * (measured: 1.1 s against 0.2 s for 20,000 ranges over 1M tiles).
 */

/**
 * Tiles of (entity key, width) with start in [from, to), per numbered range, each with its row's partials
 * (every feature of that width; see materializer/tiles.ts). Bounds come back as float8, exact for epoch ms,
 * so no bigint travels as text.
 */
export function tilesSql(view: AggregationView): string {
  return (
    `select r.i as "__r", t.tile_start::float8 as tile_start, (t.tile_start + r.w)::float8 as tile_end, t.partial ` +
    `from unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) as r(i, k, w, s, e) ` +
    `cross join lateral (select tile_start, partial from ${tilesTable(view.name)} ` +
    `where entity_key = r.k and width = r.w and tile_start >= r.s and tile_start < r.e offset 0) t`
  );
}

/** A head event's inputs: a JSON object, or CORRUPT_HEAD. */
function parseInputs(view: AggregationView, entityKey: string, member: string, json: string): Record<string, unknown> {
  let inputs: unknown;
  try {
    inputs = JSON.parse(json);
  } catch {
    throw corruptHead(view, entityKey, member);
  }
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) throw corruptHead(view, entityKey, member);
  return inputs as Record<string, unknown>;
}

/** The edges of a window at T: its oldest event time, floor_hop(T − window), and its head tile's start, floor_hop(T). */
function edges(aggregation: Aggregation, asOf: number): { readonly from: number; readonly head: number } {
  return { from: windowRange(asOf, aggregation.windowMs, aggregation.hopMs).from, head: floorHop(asOf, aggregation.hopMs) };
}
