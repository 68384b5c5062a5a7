/**
 * An aggregation view's values at T from its online pieces (stores/online-pieces.ts), finalised by the one
 * function historical retrieval uses (`valueAt`). For each feature, with slice levels w1 > w2 > … > wk
 * (headSliceWidths: its `slice`; one level today), the window [floor_hop(T − window), T) is split into
 *
 *   completed tiles   T fields with start in [floor_hop(T − window), floor_hop(T))
 *   slices, level 1   S fields of width w1 with start in [floor_hop(T), floor_w1(T))   (complete: they end by T)
 *   slices, level i   S fields of width wi with start in [floor_w(i−1)(T), floor_wi(T))
 *   raw events        dated in [floor_wk(T), T), wk its finest slice: the store returns those of the
 *                     buckets holding the view's range (eventRangeAt), not the rest it holds for the
 *                     clock slack, and those outside the range are skipped here
 *
 * A head tile with a span (event-span.ts) whose events all precede T is taken whole for the head, in
 * place of its slices and raw events: it holds exactly the events of [floor_hop(T), T). One whose events
 * all lie at or after T gives the head nothing. Only a head tile whose span straddles T (or that has
 * none: written before spans) is read by its slices and raw events as above (headRule).
 *
 * A T or S field holds the partials of every feature of one piece group (its width names the group), so
 * each is parsed once and each feature of the group takes its own partial from it. Every piece is complete
 * and they do not overlap, so the partial is the same bits as historical's tiles plus archived head
 * events. What is worked out per view (levels, groups by width, aggregators) is done once.
 */
import { SkewlessError } from '../errors.ts';
import { aggregatorFor } from '../features/aggregate/aggregators.ts';
import type { Aggregator } from '../features/aggregate/aggregator.ts';
import { partialIn } from '../features/aggregate/aggregator.ts';
import { valueAt } from '../features/aggregate/finalize.ts';
import type { SourceEvent, Span } from '../features/aggregate/finalize.ts';
import { headSliceWidths, rawEventBucketWidth, rawEventsFrom } from '../features/aggregate/tiles.ts';
import { headRule, spanInText } from '../features/aggregate/event-span.ts';
import type { EventSpan } from '../features/aggregate/event-span.ts';
import { floorHop } from '../features/windows.ts';
import type { AggregationView, Feature } from '../registry/types.ts';
import { isOutdatedPieceField, parseOnlineEvent, parsePieceField, pieceJson } from '../stores/online-pieces.ts';
import type { EventRange, OnlinePieces } from '../stores/types.ts';
import type { ViewValue } from './value-at.ts';

interface FeaturePlan {
  readonly feature: Feature;
  readonly aggregator: Aggregator;
  readonly windowMs: number;
  readonly hopMs: number;
  /** Its slice widths, coarsest first (headSliceWidths). */
  readonly levels: readonly number[];
}

interface ViewPlan {
  readonly features: readonly FeaturePlan[];
  /** The features whose tiles (T) or slices (S) have a width: a piece group's. */
  readonly tiles: ReadonlyMap<number, readonly FeaturePlan[]>;
  readonly slices: ReadonlyMap<number, readonly FeaturePlan[]>;
}

const plans = new WeakMap<AggregationView, ViewPlan>();

/** What reading a view's pieces needs: worked out once per view. */
function viewPlan(view: AggregationView): ViewPlan {
  let out = plans.get(view);
  if (out === undefined) {
    const features = view.features.map((feature) => {
      const a = feature.aggregation!;
      const levels = headSliceWidths(a);
      return { feature, aggregator: aggregatorFor(a), windowMs: a.windowMs, hopMs: a.hopMs, levels };
    });
    const tiles = new Map<number, FeaturePlan[]>();
    const slices = new Map<number, FeaturePlan[]>();
    for (const f of features) {
      tiles.set(f.hopMs, [...(tiles.get(f.hopMs) ?? []), f]);
      for (const width of f.levels) slices.set(width, [...(slices.get(width) ?? []), f]);
    }
    out = { features, tiles, slices };
    plans.set(view, out);
  }
  return out;
}

/** The raw events a read of the view at T folds: those of T's finest slice, over its features. */
export function eventRangeAt(view: AggregationView, asOf: number): EventRange {
  return { from: rawEventsFrom(view, asOf), to: asOf, bucketMs: rawEventBucketWidth(view) };
}

export function aggregationValueAt(view: AggregationView, entry: OnlinePieces, asOf: number): ViewValue {
  try {
    return { status: 'PRESENT', values: valuesFromPieces(view, entry, asOf), eventTs: null, error: null };
  } catch (error) {
    const failure =
      error instanceof SkewlessError ? error : new SkewlessError('ONLINE_VALUE_CORRUPT', `online pieces of ${view.name} cannot be combined: ${(error as Error).message}`, { httpStatus: 500 });
    return { status: 'ERROR', values: null, eventTs: null, error: failure };
  }
}

/** A feature's window at one T: where its tiles start, and per slice width the starts it reads, [from, to). */
interface WindowSplit {
  readonly tilesFrom: number;
  readonly head: number;
  readonly slices: Map<number, { readonly from: number; readonly to: number }>;
  /** Its raw events start here: the start of T's finest slice. */
  readonly rawFrom: number;
  /** Completed tiles (then, once the pieces are read, the head: its tile standing in, or its slices). */
  readonly spans: Span[];
  readonly sliceSpans: Span[];
  /** The head tile, when it stands in for its slices and raw events (headRule): its events all precede T. */
  headTile: Span | undefined;
  /** Whether the head tile's span settled the head (headRule: whole or nothing): its slices and raw events are not read. */
  settled: boolean;
}

function valuesFromPieces(view: AggregationView, entry: OnlinePieces, asOf: number): Record<string, unknown> {
  const plan = viewPlan(view);
  const { pieces } = entry;
  // Each feature's window split at this T, worked out once per read rather than once per piece.
  const windows = new Map<FeaturePlan, WindowSplit>();
  // The earliest raw event any feature folds: eventRangeAt's `from`, derived here from the splits.
  let eventsFrom = asOf;
  for (const f of plan.features) {
    const head = floorHop(asOf, f.hopMs);
    const slices = new Map<number, { from: number; to: number }>();
    let from = head;
    for (const width of f.levels) {
      const to = floorHop(asOf, width);
      slices.set(width, { from, to });
      from = to;
    }
    windows.set(f, { tilesFrom: floorHop(asOf - f.windowMs, f.hopMs), head, slices, rawFrom: from, spans: [], sliceSpans: [], headTile: undefined, settled: false });
    eventsFrom = Math.min(eventsFrom, from);
  }
  const events: SourceEvent[] = [];
  for (const member of entry.events) {
    const event = parseOnlineEvent(member);
    if (event === undefined) throw new SkewlessError('ONLINE_VALUE_CORRUPT', `online event of ${view.name} is not <time>:<position>|<json>: ${JSON.stringify(member.slice(0, 60))}`, { httpStatus: 500 });
    if (event.time >= eventsFrom && event.time < asOf) events.push({ time: event.time, row: JSON.parse(event.json) as Record<string, unknown> });
  }
  let inSet: Set<string> | undefined;
  for (const name in pieces) {
    const piece = parsePieceField(name);
    if (piece === undefined) {
      if (isOutdatedPieceField(name)) throw new SkewlessError('ONLINE_LAYOUT_OUTDATED', `online pieces of ${view.name} are in the per-feature layout of an earlier Skewless: run skewless rebuild-online`, { httpStatus: 500 });
      continue;
    }
    if (piece.kind === 'E') {
      // A raw event in the hash, as earlier versions kept them (online-pieces.ts). During an upgrade the
      // same event may also be in the set (a rebuild or outbox flush by this version): taken once.
      if (piece.time >= eventsFrom && piece.time < asOf) {
        inSet ??= new Set(entry.events.map((m) => m.slice(0, m.indexOf('|'))));
        if (!inSet.has(name.slice(2))) events.push({ time: piece.time, row: JSON.parse(json(pieces[name]!)) as Record<string, unknown> });
      }
      continue;
    }
    const isTile = piece.kind === 'T';
    const features = (isTile ? plan.tiles : plan.slices).get(piece.width);
    if (features === undefined) continue;
    let partials: Record<string, unknown> | undefined;
    // A tile's span, read from its text once (a busy entity's head tile, read by slices, is not parsed).
    let span: EventSpan | undefined | null = null;
    for (const f of features) {
      const window = windows.get(f)!;
      let end = piece.start + piece.width;
      let into: Span[] | undefined;
      if (isTile) {
        if (piece.start >= window.tilesFrom && piece.start < window.head) into = window.spans;
        else if (piece.start === window.head) {
          if (span === null) span = spanInText(json(pieces[name]!));
          const rule = headRule(span, asOf);
          if (rule === 'split') continue;
          // Settled by the tile, whole or nothing; one without this feature's partial (added to the view
          // after the tile was written) holds none of its events, as historical reads take it.
          window.settled = true;
          if (rule === 'none') continue;
          end = span!.hi + 1;
        } else continue;
      } else {
        const level = window.slices.get(piece.width)!;
        if (piece.start >= level.from && piece.start < level.to) into = window.sliceSpans;
        else continue;
      }
      partials ??= JSON.parse(json(pieces[name]!)) as Record<string, unknown>;
      const partial = partialIn(partials, f.feature.name);
      // A feature added to the view after this piece was written has none of its events here.
      if (partial === undefined) continue;
      const taken = { start: piece.start, end, partial: f.aggregator.decode(partial) };
      if (into === undefined) window.headTile = taken;
      else into.push(taken);
    }
  }
  const values: Record<string, unknown> = {};
  for (const [f, { spans, sliceSpans, headTile, rawFrom, settled }] of windows) {
    // A head tile standing in holds every event its slices and raw events before T would: those are a part of it.
    if (headTile !== undefined) spans.push(headTile);
    else if (!settled) for (const slice of sliceSpans) spans.push(slice);
    values[f.feature.name] = valueAt(f.feature, spans, settled ? [] : rawFrom === eventsFrom ? events : events.filter((e) => e.time >= rawFrom), asOf);
  }
  return values;
}

function json(value: string): string {
  const text = pieceJson(value);
  if (text === undefined) throw new SkewlessError('ONLINE_VALUE_CORRUPT', `online piece is not <version>|<json>: ${JSON.stringify(value.slice(0, 60))}`, { httpStatus: 500 });
  return text;
}
