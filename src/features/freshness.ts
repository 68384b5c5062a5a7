/**
 * Which row wins and whether it may be served: the two rules every path shares (DESIGN.md).
 *
 * - Ordering: a row is newer than another when its (event_timestamp, created_timestamp) is greater.
 *   Exact ties on both resolve to the row written last.
 * - TTL: the value of a view at T is the newest row with T − ttl ≤ event_timestamp ≤ T, both bounds
 *   inclusive; no ttl means no lower bound. The online path calls `statusAt` with T = request time, taken
 *   once per request; historical retrieval uses `ttlLowerBound` for the same bound inside its SQL.
 */

export interface RowTime {
  readonly eventTs: number;
  readonly createdTs: number;
}

/** True when `candidate` should replace `current` (ties on both timestamps: the later write wins). */
export function replaces(candidate: RowTime, current: RowTime | undefined): boolean {
  if (current === undefined) return true;
  return candidate.eventTs > current.eventTs || (candidate.eventTs === current.eventTs && candidate.createdTs >= current.createdTs);
}

/** The oldest event time still served at T, or undefined when the view has no ttl. */
export function ttlLowerBound(asOf: number, ttlMs: number | undefined): number | undefined {
  return ttlMs === undefined ? undefined : asOf - ttlMs;
}

/** Status of a stored row at T: PRESENT, EXPIRED (older than T − ttl) or FUTURE (event after T). */
export function statusAt(eventTs: number, asOf: number, ttlMs: number | undefined): 'PRESENT' | 'EXPIRED' | 'FUTURE' {
  if (eventTs > asOf) return 'FUTURE';
  const lower = ttlLowerBound(asOf, ttlMs);
  return lower !== undefined && eventTs < lower ? 'EXPIRED' : 'PRESENT';
}
