/**
 * The example's nightly batch job, simulated (pure): `user_txn_stats` is pushed, not streamed, so the
 * demo computes what that job would have pushed each night from the same synthetic transactions the
 * stream carries. Each night at 00:00 UTC the job summarises every card holder's transactions before
 * midnight and its rows arrive a little later, so point-in-time queries over the month see one row per
 * card holder per night, and `created_timestamp` says when each became known.
 */
import { MS_PER } from '../features/duration.ts';
import type { DemoTransaction } from './transactions.ts';

/** A row for the `user_txn_stats` view, as `pushFeatures` takes it (timestamps as epoch ms). */
export interface UserTxnStatsRow {
  readonly user_id: string;
  /** The midnight the job summarised up to. */
  readonly event_timestamp: number;
  /** When the job's row arrived: `RUN_DELAY_MS` after that midnight. */
  readonly created_timestamp: number;
  readonly txn_count_7d: number;
  /** Null when the card holder made no transaction in the 7 days. */
  readonly txn_amount_avg_7d: number | null;
  /** Sample standard deviation over 30 days; null with fewer than two transactions. */
  readonly txn_amount_std_30d: number | null;
}

/** How long after midnight the nightly job's rows arrive. */
export const RUN_DELAY_MS = 20 * MS_PER.m;

/**
 * One row per card holder (`users`, every one, active or not) for each midnight after `from` whose run had
 * finished by `until`; windows are [midnight − 7d, midnight) and [midnight − 30d, midnight).
 */
export function nightlyUserStats(transactions: readonly DemoTransaction[], users: readonly string[], from: number, until: number): UserTxnStatsRow[] {
  const byUser = new Map<string, DemoTransaction[]>(users.map((u) => [u, []]));
  for (const t of transactions) byUser.get(t.userId)?.push(t);
  for (const list of byUser.values()) list.sort((a, b) => a.eventTime - b.eventTime);

  const rows: UserTxnStatsRow[] = [];
  for (let night = Math.floor(from / MS_PER.d) * MS_PER.d + MS_PER.d; night + RUN_DELAY_MS <= until; night += MS_PER.d) {
    for (const [user, list] of byUser) {
      const week = amountsIn(list, night - 7 * MS_PER.d, night);
      const month = amountsIn(list, night - 30 * MS_PER.d, night);
      rows.push({
        user_id: user,
        event_timestamp: night,
        created_timestamp: night + RUN_DELAY_MS,
        txn_count_7d: week.length,
        txn_amount_avg_7d: week.length === 0 ? null : cents(mean(week)),
        txn_amount_std_30d: month.length < 2 ? null : cents(Math.sqrt(variance(month))),
      });
    }
  }
  return rows;
}

/** Amounts of the transactions with eventTime in [from, to); `sorted` by eventTime. */
function amountsIn(sorted: readonly DemoTransaction[], from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = lowerBound(sorted, from); i < sorted.length && sorted[i]!.eventTime < to; i++) out.push(sorted[i]!.amount);
  return out;
}

function lowerBound(sorted: readonly DemoTransaction[], time: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.eventTime < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Sample variance, two-pass: the batch job's numbers, not a streaming approximation. */
function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}

const cents = (x: number): number => Math.round(x * 100) / 100;
