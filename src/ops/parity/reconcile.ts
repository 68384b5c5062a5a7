/**
 * Continuous parity, the offline half: one reconciliation pass. Samples taken at least the settle delay
 * ago and not judged yet are read oldest first, in batches; each batch is replayed view by view through
 * the historical path (replay.ts), and its verdicts are written in one transaction with the samples marked
 * judged. Run once by `skewless parity`, and every --parity-interval by `skewless serve` (loop.ts).
 *
 * Why a settle delay: the offline answer for T must be final when it is judged. A row created by T can
 * still be on its way to PostgreSQL for a while (a push between its history write and its online write, a
 * materializer batch being committed, a consumer catching up), and an event dated before T can too; judged
 * too early, the verdict would depend on when the reconciler ran. Waiting out the delay makes it depend on
 * the data only.
 *
 * Two reconcilers (the loops of several gateways, a `skewless parity` run) may judge the same sample: the
 * verdict is written once (results are keyed by sample and feature) and counted by whichever wrote it.
 */
import type { Metrics } from '../metrics.ts';
import type { Registry } from '../../registry/registry.ts';
import { createServingContext } from '../../serving/context.ts';
import type { Stores } from '../../stores/open.ts';
import type { TransformPool } from '../../transforms/pool.ts';
import { tally } from './judge.ts';
import type { FeatureOutcomes, OutcomeCounts } from './judge.ts';
import { parityMetrics } from './metrics.ts';
import { judgeView } from './replay.ts';
import { insertResultsSql, markReconciledSql, pendingSamplesSql, pruneSamplesSql } from './tables.ts';
import type { ResultRow, StoredSample } from './tables.ts';

export interface ReconcileDeps {
  readonly registry: Registry;
  /** The historical path reads the offline store; the online store is not touched. */
  readonly stores: Stores;
  /** The sandbox on-demand views are replayed in; their samples are SKIPPED without one. */
  readonly transforms: TransformPool | undefined;
  /** Where `skewless_parity_outcomes_total` is counted; not counted when absent. */
  readonly metrics?: Metrics | undefined;
}

export interface ReconcileOptions {
  /** The reconciler's clock, epoch ms: samples taken after now − settleMs wait for a later pass. */
  readonly now: number;
  /** --parity-settle, ms. */
  readonly settleMs: number;
  /** Only samples taken at or after this instant (epoch ms); all when undefined. */
  readonly since?: number | undefined;
  /** Samples taken before now − retentionMs are deleted with their verdicts first; none when undefined or 0. */
  readonly retentionMs?: number | undefined;
  /** Samples per batch (one historical query per view per batch). Default 1000. */
  readonly batchSize?: number;
}

export interface ReconcileSummary {
  /** Samples judged by this pass. */
  readonly samples: number;
  /** Samples up to this instant were eligible (now − settle). */
  readonly settledBy: number;
  /** Verdicts this pass wrote, by outcome, and per feature. */
  readonly totals: OutcomeCounts;
  readonly features: readonly FeatureOutcomes[];
  /** Samples deleted by retention. */
  readonly pruned: number;
}

const DEFAULT_BATCH = 1000;

export async function reconcileParity(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileSummary> {
  const { registry, stores } = deps;
  const offline = stores.offline;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const settledBy = options.now - options.settleMs;
  const outcomes = deps.metrics === undefined ? undefined : parityMetrics(deps.metrics).outcomes;
  let pruned = 0;
  if (options.retentionMs !== undefined && options.retentionMs > 0) {
    const { sql, params } = pruneSamplesSql(options.now - options.retentionMs);
    const [row] = await offline.query<{ n: number }>(`with d as (${sql} returning 1) select count(*)::int as n from d`, params);
    pruned = row?.n ?? 0;
  }
  // The replay's context: T comes from each entity row; the limits only need to admit one batch.
  const ctx = createServingContext({
    registry,
    stores,
    transforms: deps.transforms,
    limits: { maxEntities: batchSize, maxPushRows: 1, maxHistoricalRows: batchSize, entitySqlTimeoutMs: 30_000 },
    now: () => options.now,
  });
  // Only views this registry defines: a gateway of an older or newer schema sharing the store (a rolling
  // deploy) leaves the others' samples to a reconciler that knows their views.
  const views = registry.views.map((v) => v.name);
  const written: { view: string; feature: string; outcome: string }[] = [];
  let samples = 0;
  for (;;) {
    const pending = pendingSamplesSql(views, settledBy, options.since, batchSize);
    const batch = await offline.query<StoredSample & Record<string, unknown>>(pending.sql, pending.params);
    if (batch.length === 0) break;
    const results: ResultRow[] = [];
    // View by view, one after the other: the embedded store has one connection, and a batch is small.
    for (const [view, group] of Map.groupBy(batch, (s) => s.view)) results.push(...(await judgeView(ctx, registry, registry.view(view)!, group)));
    const insert = insertResultsSql(results, options.now);
    const mark = markReconciledSql(batch.map((s) => s.id), options.now);
    const inserted = await offline.transaction(async (tx) => {
      const rows = results.length === 0 ? [] : await tx.query<{ view: string; feature: string; outcome: string }>(insert.sql, insert.params);
      await tx.query(mark.sql, mark.params);
      return rows;
    });
    written.push(...inserted);
    samples += batch.length;
    if (batch.length < batchSize) break;
  }
  const { totals, features } = tally(written);
  for (const f of features) {
    for (const [outcome, n] of Object.entries(f.counts)) if (n > 0) outcomes?.inc({ view: f.view, feature: f.feature, outcome }, n);
  }
  return { samples, settledBy, totals, features, pruned };
}
