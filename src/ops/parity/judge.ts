/**
 * The reconciler's verdict on one feature of one sample (pure): what the online path served at T against
 * what the historical path computes for the same keys at T, as known at T.
 */
import { sameValue } from './values.ts';

/**
 * - MATCH: both have the same value, or both have none (online NOT_FOUND or EXPIRED, offline NOT_FOUND).
 * - MISMATCH: both have a value and they differ; both are kept.
 * - MISSING_ONLINE: offline has a value at T, online served none.
 * - MISSING_OFFLINE: online served a value offline does not have at T.
 * - SKIPPED: no fair comparison (a transform, a feature or the keys changed since the sample, or the
 *   replay failed); `reason` says why.
 */
export const OUTCOMES = ['MATCH', 'MISMATCH', 'MISSING_ONLINE', 'MISSING_OFFLINE', 'SKIPPED'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What one path answered for one feature: its status (PRESENT, NOT_FOUND, EXPIRED, ERROR) and value. */
export interface Served {
  readonly status: string;
  readonly value: unknown;
  /** The error code behind an ERROR status. */
  readonly error?: string | undefined;
}

export interface Verdict {
  readonly outcome: Outcome;
  /** Why a comparison was SKIPPED; undefined otherwise. */
  readonly reason?: string;
}

export function judge(online: Served, offline: Served): Verdict {
  // An online ERROR is never sampled (nothing was served); an offline one leaves nothing to compare with.
  if (offline.status === 'ERROR') return { outcome: 'SKIPPED', reason: `OFFLINE_ERROR ${offline.error ?? ''}`.trim() };
  const onlineHas = online.status === 'PRESENT';
  const offlineHas = offline.status === 'PRESENT';
  if (onlineHas && offlineHas) return { outcome: sameValue(online.value, offline.value) ? 'MATCH' : 'MISMATCH' };
  if (onlineHas) return { outcome: 'MISSING_OFFLINE' };
  if (offlineHas) return { outcome: 'MISSING_ONLINE' };
  return { outcome: 'MATCH' };
}

/** Verdicts counted by outcome. */
export type OutcomeCounts = Record<Outcome, number>;

export function noOutcomes(): OutcomeCounts {
  return { MATCH: 0, MISMATCH: 0, MISSING_ONLINE: 0, MISSING_OFFLINE: 0, SKIPPED: 0 };
}

export interface FeatureOutcomes {
  readonly view: string;
  readonly feature: string;
  readonly counts: OutcomeCounts;
}

/** Totals and a per-feature breakdown (sorted by view, then feature) of counted verdicts. */
export function tally(rows: Iterable<{ readonly view: string; readonly feature: string; readonly outcome: string; readonly n?: number }>): { totals: OutcomeCounts; features: FeatureOutcomes[] } {
  const totals = noOutcomes();
  const byFeature = new Map<string, FeatureOutcomes>();
  for (const row of rows) {
    const outcome = row.outcome as Outcome;
    if (!(outcome in totals)) continue;
    const n = row.n ?? 1;
    const id = `${row.view}:${row.feature}`;
    let entry = byFeature.get(id);
    if (entry === undefined) byFeature.set(id, (entry = { view: row.view, feature: row.feature, counts: noOutcomes() }));
    entry.counts[outcome] += n;
    totals[outcome] += n;
  }
  const features = [...byFeature.values()].sort((a, b) => (a.view === b.view ? a.feature.localeCompare(b.feature) : a.view.localeCompare(b.view)));
  return { totals, features };
}
