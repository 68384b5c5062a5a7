/**
 * A tile's event span: the earliest and latest event time folded into it, stored in its row beside the
 * partials (under EVENT_SPAN_KEY, which no feature name can take: GraphQL names start with a letter or _).
 *
 * A read at T of a head tile with a span needs neither its slices nor its raw events unless the span
 * straddles T (headRule): when its events all precede T the tile is the head, and when they all lie at or
 * after T the head is empty. So slices can be written lazily. While a tile's events all lie in one slice
 * s0 of a width, the tile's partials are exactly what slice s0 would hold, so no slice row is written for
 * it: a read at T whose slice starts after s0 takes the tile whole for its head, and one whose slice is s0
 * or earlier needs no slice at all, only the raw events of T's slice, or none (serving/aggregation-online.ts,
 * serving/aggregation-offline.ts). When a batch brings events in another slice, slice s0 is written from the
 * tile's partials before the batch's are merged, and from then on the tile's slices are written as they come
 * (materializer/merge-pieces.ts).
 *
 * With many entities most tiles hold one event, and this saves a row per tile, in both stores, per slice
 * width (docs/materializer.md, "Throughput").
 *
 * A row without a span (written before spans were kept) has its slices written eagerly, as they were
 * then, and is read by its slices; it keeps no span when merged, so nothing changes for it.
 */
import { floorHop } from '../windows.ts';

/** The key of a tile row's span among its partials. */
export const EVENT_SPAN_KEY = '$events';

/** Event times [lo, hi], both included; lo > hi when the tile holds no events. */
export interface EventSpan {
  readonly lo: number;
  readonly hi: number;
}

export const NO_EVENTS: EventSpan = { lo: Infinity, hi: -Infinity };

export function widenSpan(a: EventSpan, b: EventSpan): EventSpan {
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

/** The span as stored: [lo,hi], or [] for none. */
export function spanJson(span: EventSpan): string {
  return span.lo > span.hi ? '[]' : `[${span.lo},${span.hi}]`;
}

/**
 * The span a stored row's partials carry, or undefined when it carries none (or a malformed one: treated
 * as unknown, which only means its slices are written and read as before).
 */
export function storedSpan(partials: { readonly [key: string]: unknown } | undefined): EventSpan | undefined {
  if (partials === undefined || !Object.hasOwn(partials, EVENT_SPAN_KEY)) return undefined;
  const value = partials[EVENT_SPAN_KEY];
  if (!Array.isArray(value)) return undefined;
  if (value.length === 0) return NO_EVENTS;
  const [lo, hi] = value as unknown[];
  return value.length === 2 && Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && (lo as number) <= (hi as number) ? { lo: lo as number, hi: hi as number } : undefined;
}

const SPAN_IN_TEXT = `,${JSON.stringify(EVENT_SPAN_KEY)}:`;

/**
 * The span a row's text carries, found without parsing the row: the materializer writes it last (it must
 * close the row), and `,"$events":` cannot occur raw inside a JSON string (its quote would be escaped). For a read that may
 * not need the row's partials at all (a busy entity's head tile, read by its slices).
 */
export function spanInText(text: string): EventSpan | undefined {
  const at = text.lastIndexOf(SPAN_IN_TEXT);
  if (at < 0) return undefined;
  const from = at + SPAN_IN_TEXT.length;
  const to = text.indexOf(']', from);
  // The last member: `]` then the row's closing brace.
  if (to < 0 || to !== text.length - 2 || text[to + 1] !== '}') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(from, to + 1));
  } catch {
    return undefined;
  }
  return storedSpan({ [EVENT_SPAN_KEY]: value });
}

/**
 * Whether slice rows of `width` exist for a tile of this span: not while its events lie in one slice of
 * it (or there are none), nor when the span is unknown, always (undefined: the row predates spans).
 */
export function isSpread(span: EventSpan | undefined, width: number): boolean {
  return span === undefined || (span.lo <= span.hi && floorHop(span.lo, width) !== floorHop(span.hi, width));
}

/** The one slice of `width` holding all of a span's events: its start, or undefined if none or several. */
export function soleSlice(span: EventSpan | undefined, width: number): number | undefined {
  if (span === undefined || span.lo > span.hi) return undefined;
  const start = floorHop(span.lo, width);
  return floorHop(span.hi, width) === start ? start : undefined;
}

/**
 * How a read at T takes the head tile of this span (T inside the tile): `whole` when its events all precede
 * T (the tile then holds exactly the head's events, [floor_hop(T), T)), `none` when there are none before T
 * (no events, or all at or after T), `split` when the span straddles T or is unknown (a row from before
 * spans): then only its slices and raw events say which of its events precede T. Online and historical
 * reads decide alike, so a head tile's events need to be held raw only while its span may straddle a T.
 */
export function headRule(span: EventSpan | undefined, asOf: number): 'whole' | 'none' | 'split' {
  if (span === undefined) return 'split';
  if (span.lo > span.hi || span.lo >= asOf) return 'none';
  return span.hi < asOf ? 'whole' : 'split';
}

/**
 * Whether some T finds a tile of this span straddling it (headRule's `split`): its events lie at two times
 * or more, or its span is unknown. The writer's side of the rule: only such a tile's events need to be held
 * raw (materializer/raw-events-owed.ts).
 */
export function mayStraddle(span: EventSpan | undefined): boolean {
  return span === undefined || span.lo < span.hi;
}
