/**
 * Window and hop rules for aggregation features (DESIGN.md: the value at T covers events with event_time in
 * [floor_hop(T − window), T)). This file holds the parts the registry needs today: the allowed range of a
 * window and the default hop for it. The finalisation itself is added by the materializer work, here, so
 * that both serving paths call one function.
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
