/**
 * An aggregation view's values at T from its online pieces (stores/online-pieces.ts), finalised by the one
 * function historical retrieval uses (`valueAt`). For each feature, the window [floor_hop(T − window), T)
 * is split into
 *
 *   completed tiles   T fields with start in [floor_hop(T − window), floor_hop(T))
 *   head slices       S fields with start in [floor_hop(T), floor_slice(T))     (complete: they end by T)
 *   raw events        E fields dated in [floor_slice(T), T)
 *
 * Every piece is complete and they do not overlap, so the partial is the same bits as historical's tiles
 * plus archived head events. What is worked out per view (feature lookup, aggregators, widths) is done once.
 */
import { SkewlessError } from '../errors.ts';
import { aggregatorFor } from '../features/aggregate/aggregators.ts';
import type { Aggregator } from '../features/aggregate/aggregator.ts';
import { valueAt } from '../features/aggregate/finalize.ts';
import type { SourceEvent, Span } from '../features/aggregate/finalize.ts';
import { headSliceMs } from '../features/aggregate/tiles.ts';
import { floorHop } from '../features/windows.ts';
import type { AggregationView, Feature } from '../registry/types.ts';
import { parsePieceField, pieceJson } from '../stores/online-pieces.ts';
import type { OnlinePieces } from '../stores/types.ts';
import type { ViewValue } from './value-at.ts';

interface FeaturePlan {
  readonly feature: Feature;
  readonly aggregator: Aggregator;
  readonly windowMs: number;
  readonly hopMs: number;
  readonly sliceMs: number;
}

const plans = new WeakMap<AggregationView, ReadonlyMap<string, FeaturePlan>>();

/** Per feature of the view, what reading its pieces needs: worked out once per view. */
export function featurePlans(view: AggregationView): ReadonlyMap<string, FeaturePlan> {
  let out = plans.get(view);
  if (out === undefined) {
    out = new Map(
      view.features.map((feature) => {
        const a = feature.aggregation!;
        return [feature.name, { feature, aggregator: aggregatorFor(a), windowMs: a.windowMs, hopMs: a.hopMs, sliceMs: headSliceMs(a.hopMs) }];
      }),
    );
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
  // Each feature's window split at this T, worked out once per read rather than once per piece.
  const windows = new Map<string, { plan: FeaturePlan; tilesFrom: number; head: number; slicesTo: number; spans: Span[] }>();
  let oldestEvent = Infinity;
  for (const [name, plan] of featurePlans(view)) {
    const slicesTo = floorHop(asOf, plan.sliceMs);
    windows.set(name, { plan, tilesFrom: floorHop(asOf - plan.windowMs, plan.hopMs), head: floorHop(asOf, plan.hopMs), slicesTo, spans: [] });
    oldestEvent = Math.min(oldestEvent, slicesTo);
  }
  const events: SourceEvent[] = [];
  for (const name in pieces) {
    const piece = parsePieceField(name);
    if (piece === undefined) continue;
    if (piece.kind === 'E') {
      if (piece.time >= oldestEvent && piece.time < asOf) events.push({ time: piece.time, row: JSON.parse(json(pieces[name]!)) as Record<string, unknown> });
      continue;
    }
    const window = windows.get(piece.feature);
    if (window === undefined) continue;
    const inTile = piece.kind === 'T' && piece.start >= window.tilesFrom && piece.start < window.head;
    const inSlice = piece.kind === 'S' && piece.start >= window.head && piece.start < window.slicesTo;
    if (!inTile && !inSlice) continue;
    const { plan } = window;
    window.spans.push({ start: piece.start, end: piece.start + (inTile ? plan.hopMs : plan.sliceMs), partial: plan.aggregator.decode(JSON.parse(json(pieces[name]!))) });
  }
  const values: Record<string, unknown> = {};
  for (const { plan, slicesTo, spans } of windows.values()) {
    values[plan.feature.name] = valueAt(plan.feature, spans, slicesTo === oldestEvent ? events : events.filter((e) => e.time >= slicesTo), asOf);
  }
  return values;
}

function json(value: string): string {
  const text = pieceJson(value);
  if (text === undefined) throw new SkewlessError('ONLINE_VALUE_CORRUPT', `online piece is not <version>|<json>: ${JSON.stringify(value.slice(0, 60))}`, { httpStatus: 500 });
  return text;
}
