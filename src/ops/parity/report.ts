/**
 * The parity report: what the reconciler found, read back from the offline store. A plain function so a
 * dashboard, `skewless parity` and `Query.parityReport` (graphql/parity-fields.ts) all read the same.
 */
import { SkewlessError } from '../../errors.ts';
import type { OfflineStore } from '../../stores/types.ts';
import { tally } from './judge.ts';
import type { FeatureOutcomes, Outcome, OutcomeCounts } from './judge.ts';
import { outcomeCountsSql, pendingCountSql, recentResultsSql } from './tables.ts';
import { decodeValue } from './values.ts';

/** One verdict with both sides, as a report lists it. */
export interface ParityVerdict {
  readonly sampleId: string;
  readonly view: string;
  readonly feature: string;
  /** Join key → value, as the online request gave them. */
  readonly keys: Readonly<Record<string, string>>;
  /** The sample's T, epoch ms. */
  readonly asOf: number;
  readonly reason: string | null;
  readonly onlineStatus: string;
  readonly onlineValue: unknown;
  /** Null when the comparison was skipped before the replay. */
  readonly offlineStatus: string | null;
  readonly offlineValue: unknown;
  readonly reconciledAt: number;
}

export interface ParityReport {
  /** Samples taken at or after this instant are counted (epoch ms); all when undefined. */
  readonly since: number | undefined;
  /** Samples taken since then and not judged yet (younger than the settle delay, or no reconciler ran). */
  readonly pending: number;
  readonly totals: OutcomeCounts;
  /** Per view and feature, sorted by view then feature. */
  readonly features: readonly FeatureOutcomes[];
  /** The newest MISMATCH verdicts (by sample time), both values kept. */
  readonly mismatches: readonly ParityVerdict[];
}

export interface ReportOptions {
  readonly since?: number | undefined;
  /** Most mismatches listed, 0 to MAX_LIMIT. Default 20. */
  readonly limit?: number;
}

type Query = Pick<OfflineStore, 'query'>;

/** Most verdicts one report lists: a report is read by people and dashboards, not exported. */
export const MAX_LIMIT = 1000;

export async function parityReport(offline: Query, options: ReportOptions = {}): Promise<ParityReport> {
  try {
    return await readReport(offline, options);
  } catch (error) {
    // 42P01 undefined_table: nothing ever made the parity tables in this offline store.
    if ((error as { code?: unknown }).code !== '42P01') throw error;
    throw new SkewlessError(
      'PARITY_UNAVAILABLE',
      'no parity data in this offline store: continuous parity has never run against it (start skewless serve with --parity-sample-rate above 0, or run skewless parity)',
      { httpStatus: 503, cause: error },
    );
  }
}

async function readReport(offline: Query, options: ReportOptions): Promise<ParityReport> {
  const { since } = options;
  const counts = outcomeCountsSql(since);
  const pending = pendingCountSql(since);
  // One after another: the embedded store answers one statement at a time anyway.
  const rows = await offline.query<{ view: string; feature: string; outcome: string; n: number }>(counts.sql, counts.params);
  const [waiting] = await offline.query<{ n: number }>(pending.sql, pending.params);
  const { totals, features } = tally(rows);
  const mismatches = await recentVerdicts(offline, 'MISMATCH', { since, limit: options.limit });
  return { since, pending: waiting?.n ?? 0, totals, features, mismatches };
}

/** The newest verdicts of one outcome, newest sample first. */
export async function recentVerdicts(offline: Query, outcome: Outcome, options: ReportOptions = {}): Promise<ParityVerdict[]> {
  const limit = options.limit ?? 20;
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    throw new SkewlessError('INVALID_LIMIT', `limit must be an integer from 0 to ${MAX_LIMIT}, got ${limit}`, { httpStatus: 400 });
  }
  const { sql, params } = recentResultsSql(outcome, options.since, limit);
  const rows = await offline.query<{
    sample_id: string;
    view: string;
    feature: string;
    keys: Record<string, string>;
    sampled_at: Date;
    reason: string | null;
    online_status: string;
    online_value: string | null;
    offline_status: string | null;
    offline_value: string | null;
    reconciled_at: Date;
  }>(sql, params);
  return rows.map((r) => ({
    sampleId: r.sample_id,
    view: r.view,
    feature: r.feature,
    keys: r.keys,
    asOf: r.sampled_at.getTime(),
    reason: r.reason,
    onlineStatus: r.online_status,
    onlineValue: r.online_value === null ? null : decodeValue(r.online_value),
    offlineStatus: r.offline_status,
    offlineValue: r.offline_value === null ? null : decodeValue(r.offline_value),
    reconciledAt: r.reconciled_at.getTime(),
  }));
}
