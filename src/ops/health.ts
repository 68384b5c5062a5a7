/**
 * Liveness and readiness. Liveness says the process serves HTTP. Readiness says every store answers: a
 * load balancer stops sending traffic while it is false, and it turns true again by itself on recovery.
 *
 * Stale views are reported in the readiness detail but do not make the gateway unready: a stale view is
 * still served (with its age in `_meta` and statuses), every other view is fine, and taking gateways out
 * of rotation would turn one late batch job into an outage of everything.
 */
import type { Store } from '../stores/types.ts';
import type { FreshnessReport } from './freshness.ts';

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly kind: string; readonly error?: string }>>;
  readonly freshness?: FreshnessDetail;
}

/** What /readyz says about freshness: the stale views, and when (and whether) freshness was last read. */
export interface FreshnessDetail {
  readonly stale: readonly { readonly view: string; readonly ageSeconds: number | null; readonly expected: string | null }[];
  readonly checkedAt: string | null;
  readonly error: string | null;
}

export function freshnessDetail(report: FreshnessReport): FreshnessDetail {
  return {
    stale: report.views.filter((v) => v.stale).map((v) => ({ view: v.view, ageSeconds: v.ageMs === null ? null : v.ageMs / 1000, expected: v.expected })),
    checkedAt: report.checkedAt === null ? null : new Date(report.checkedAt).toISOString(),
    error: report.error,
  };
}

/** Pings each store, each bounded by `timeoutMs` so a hung store answers "not ready" rather than hanging. */
export async function checkReadiness(stores: Readonly<Record<string, Store>>, timeoutMs = 1000): Promise<ReadinessReport> {
  const entries = await Promise.all(
    Object.entries(stores).map(async ([name, store]) => {
      try {
        await withTimeout(store.ping(), timeoutMs, `${name} store did not answer within ${timeoutMs} ms`);
        return [name, { ok: true, kind: store.kind }] as const;
      } catch (error) {
        return [name, { ok: false, kind: store.kind, error: error instanceof Error ? error.message : String(error) }] as const;
      }
    }),
  );
  return { ready: entries.every(([, c]) => c.ok), checks: Object.fromEntries(entries) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
