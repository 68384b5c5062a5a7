/**
 * An aggregation view's values at T from its online pieces (stores/online-pieces.ts), finalised by the one
 * function historical retrieval uses (`valueAt`). For each feature, the window [floor_hop(T − window), T)
 * is split into
 *
 *   completed tiles   T fields with start in [floor_hop(T − window), floor_hop(T))
 *   head slices       S fields with start in [floor_hop(T), floor_slice(T))     (complete: they end by T)
 *   raw events        E fields dated in [floor_slice(T), T)
 *
 * A T or S field holds the partials of every feature of one tile group (its width names the group), so
 * each is parsed once and each feature of the group takes its own partial from it. Every piece is complete
 * and they do not overlap, so the partial is the same bits as historical's tiles plus archived head
 * events. What is worked out per view (groups by width, aggregators) is done once.
 */
import { SkewlessError } from '../errors.ts';
import { aggregatorFor } from '../features/aggregate/aggregators.ts';
import type { Aggregator } from '../features/aggregate/aggregator.ts';
import { valueAt } from '../features/aggregate/finalize.ts';
import type { SourceEvent, Span } from '../features/aggregate/finalize.ts';
import { headSliceMs } from '../features/aggregate/tiles.ts';
import { floorHop } from '../features/windows.ts';
import type { AggregationView, Feature } from '../registry/types.ts';
import { isOutdatedPieceField, parsePieceField, pieceJson } from '../stores/online-pieces.ts';
import type { OnlinePieces } from '../stores/types.ts';
import type { ViewValue } from './value-at.ts';

interface FeaturePlan {
  readonly feature: Feature;
  readonly aggregator: Aggregator;
  readonly windowMs: number;
  readonly hopMs: number;
  readonly sliceMs: number;
}

interface ViewPlan {
  readonly features: readonly FeaturePlan[];
  /** The features whose tiles (T) or slices (S) have a width: a tile group's. */
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
      return { feature, aggregator: aggregatorFor(a), windowMs: a.windowMs, hopMs: a.hopMs, sliceMs: headSliceMs(a.hopMs) };
    });
    const byWidth = (width: (f: FeaturePlan) => number) => {
      const map = new Map<number, FeaturePlan[]>();
      for (const f of features) map.set(width(f), [...(map.get(width(f)) ?? []), f]);
      return map;
    };
    out = { features, tiles: byWidth((f) => f.hopMs), slices: byWidth((f) => f.sliceMs) };
    plans.set(view, out);
  }
  return out;
}

export function aggregationValueAt(view: AggregationView, entry: OnlinePieces, asOf: number): ViewValue {
  try {
    return { status: 'PRESENT', values: valuesFromPieces(view, entry.pieces, asOf), eventTs: null, error: null };
  } catch (error) {
    const failure =
      error instanceof SkewlessError ? error : new SkewlessError('ONLINE_VALUE_CORRUPT', `online pieces of ${view.name} cannot be combined: ${(error as Error).message}`, { httpStatus: 500 });
    return { status: 'ERROR', values: null, eventTs: null, error: failure };
  }
}

function valuesFromPieces(view: AggregationView, pieces: Readonly<Record<string, string>>, asOf: number): Record<string, unknown> {
  const plan = viewPlan(view);
  // Each feature's window split at this T, worked out once per read rather than once per piece.
  const windows = new Map<FeaturePlan, { tilesFrom: number; head: number; slicesTo: number; spans: Span[] }>();
  let oldestEvent = Infinity;
  for (const f of plan.features) {
    const slicesTo = floorHop(asOf, f.sliceMs);
    windows.set(f, { tilesFrom: floorHop(asOf - f.windowMs, f.hopMs), head: floorHop(asOf, f.hopMs), slicesTo, spans: [] });
    oldestEvent = Math.min(oldestEvent, slicesTo);
  }
  const events: SourceEvent[] = [];
  for (const name in pieces) {
    const piece = parsePieceField(name);
    if (piece === undefined) {
      if (isOutdatedPieceField(name)) throw new SkewlessError('ONLINE_LAYOUT_OUTDATED', `online pieces of ${view.name} are in the per-feature layout of an earlier Skewless: run skewless rebuild-online`, { httpStatus: 500 });
      continue;
    }
    if (piece.kind === 'E') {
      if (piece.time >= oldestEvent && piece.time < asOf) events.push({ time: piece.time, row: JSON.parse(json(pieces[name]!)) as Record<string, unknown> });
      continue;
    }
    const isTile = piece.kind === 'T';
    const features = (isTile ? plan.tiles : plan.slices).get(piece.width);
    if (features === undefined) continue;
    let partials: Record<string, unknown> | undefined;
    for (const f of features) {
      const window = windows.get(f)!;
      const inWindow = isTile ? piece.start >= window.tilesFrom && piece.start < window.head : piece.start >= window.head && piece.start < window.slicesTo;
      if (!inWindow) continue;
      partials ??= JSON.parse(json(pieces[name]!)) as Record<string, unknown>;
      const partial = partials[f.feature.name];
      // A feature added to the view after this piece was written has none of its events here.
      if (partial !== undefined) window.spans.push({ start: piece.start, end: piece.start + piece.width, partial: f.aggregator.decode(partial) });
    }
  }
  const values: Record<string, unknown> = {};
  for (const [f, { slicesTo, spans }] of windows) {
    values[f.feature.name] = valueAt(f.feature, spans, slicesTo === oldestEvent ? events : events.filter((e) => e.time >= slicesTo), asOf);
  }
  return values;
}

function json(value: string): string {
  const text = pieceJson(value);
  if (text === undefined) throw new SkewlessError('ONLINE_VALUE_CORRUPT', `online piece is not <version>|<json>: ${JSON.stringify(value.slice(0, 60))}`, { httpStatus: 500 });
  return text;
}
