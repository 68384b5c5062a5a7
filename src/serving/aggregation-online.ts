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
  const features = featurePlans(view);
  const spans = new Map<string, Span[]>();
  for (const name of features.keys()) spans.set(name, []);
  const events: SourceEvent[] = [];
  let oldestEvent = Infinity;
  for (const plan of features.values()) oldestEvent = Math.min(oldestEvent, floorHop(asOf, plan.sliceMs));
  for (const name in pieces) {
    const piece = parsePieceField(name);
    if (piece === undefined) continue;
    if (piece.kind === 'E') {
      if (piece.time >= oldestEvent && piece.time < asOf) events.push({ time: piece.time, row: JSON.parse(json(pieces[name]!)) as Record<string, unknown> });
      continue;
    }
    const plan = features.get(piece.feature);
    if (plan === undefined) continue;
    const head = floorHop(asOf, plan.hopMs);
    const inTile = piece.kind === 'T' && piece.start >= floorHop(asOf - plan.windowMs, plan.hopMs) && piece.start < head;
    const inSlice = piece.kind === 'S' && piece.start >= head && piece.start < floorHop(asOf, plan.sliceMs);
    if (!inTile && !inSlice) continue;
    const width = piece.kind === 'T' ? plan.hopMs : plan.sliceMs;
    spans.get(piece.feature)!.push({ start: piece.start, end: piece.start + width, partial: plan.aggregator.decode(JSON.parse(json(pieces[name]!))) });
  }
  const values: Record<string, unknown> = {};
  for (const plan of features.values()) {
    const from = floorHop(asOf, plan.sliceMs);
    values[plan.feature.name] = valueAt(plan.feature, spans.get(plan.feature.name)!, from === oldestEvent ? events : events.filter((e) => e.time >= from), asOf);
  }
  return values;
}

function json(value: string): string {
  const text = pieceJson(value);
  if (text === undefined) throw new SkewlessError('ONLINE_VALUE_CORRUPT', `online piece is not <version>|<json>: ${JSON.stringify(value.slice(0, 60))}`, { httpStatus: 500 });
  return text;
}
