/**
 * Window and hop rules for aggregation features (DESIGN.md: the value at T covers events with event_time in
 * [floor_hop(T − window), T)): the allowed range of a window, the default hop for it, and floor_hop itself.
 * Tiles, partials and the one finalisation both serving paths call live in src/features/aggregate/.
 */
import { MS_PER } from './duration.ts';

/** Shortest window we accept: tiles are kept at second resolution. */
export const MIN_WINDOW_MS = MS_PER.s;
/** Longest window we accept: bounds tiles (and so memory) kept per entity online. */
export const MAX_WINDOW_MS = 90 * MS_PER.d;

/**
 * Default hop for a window: coarse enough to bound the number of tiles per window (at most a few hundred),
 * fine enough that the old edge of the window moves in small steps relative to its length.
 *
 *   window ≤ 1h   → 1m   (≤ 60 tiles)
 *   window < 12h  → 5m   (≤ 144 tiles)
 *   window < 12d  → 1h   (≤ 288 tiles)
 *   otherwise     → 1d   (≤ 90 tiles)
 *
 * A window that is not a whole number of the tier's hop falls back to the next finer hop that divides it
 * (down to 1s), because the window must be a whole number of hops.
 */
export function defaultHopMs(windowMs: number): number {
  const tier =
    windowMs <= MS_PER.h ? MS_PER.m : windowMs < 12 * MS_PER.h ? 5 * MS_PER.m : windowMs < 12 * MS_PER.d ? MS_PER.h : MS_PER.d;
  const candidates = [MS_PER.d, MS_PER.h, 5 * MS_PER.m, MS_PER.m, MS_PER.s].filter((hop) => hop <= tier);
  return candidates.find((hop) => windowMs % hop === 0 && hop <= windowMs) ?? MS_PER.s;
}

/**
 * floor_hop: the start of the hop-aligned tile holding `timeMs`, the greatest multiple of `hopMs` (counted
 * from the Unix epoch, UTC) not after it. Integer arithmetic only, so it is exact for every epoch-ms time,
 * negative ones included.
 */
export function floorHop(timeMs: number, hopMs: number): number {
  const r = timeMs % hopMs;
  return r < 0 ? timeMs - r - hopMs : timeMs - r;
}

/**
 * The events a window aggregates at T: event_time in [from, to) = [floor_hop(T − window), T). The recent
 * edge is exact (an event at T itself is not yet in), so values decay as T passes with no new events; the
 * old edge moves in whole hops.
 */
export function windowRange(asOf: number, windowMs: number, hopMs: number): { readonly from: number; readonly to: number } {
  return { from: floorHop(asOf - windowMs, hopMs), to: asOf };
}
