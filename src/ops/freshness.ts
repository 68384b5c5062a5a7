/**
 * Freshness of stored feature views: how old the newest materialized value is, how far the materializer
 * is behind on the view's topic, and whether the view is stale against the freshness its schema expects
 * (`@featureView(freshness: "15m")`).
 *
 * What "newest value" means, per kind:
 *   - row view: the greatest event_timestamp in its history table, however the row came (push, ingest,
 *     Kafka). A nightly job's rows are dated at the night they describe, so its view ages through the day.
 *   - aggregation view: the greatest event time archived for its source: what its windows have seen most
 *     recently (its values still change with time after that, as windows slide, but no newer input exists).
 * On-demand views store nothing and have no freshness of their own.
 *
 * A view is stale when it declares a freshness and its age exceeds it, or when a check found no value at
 * all. Ages are measured when the report is made, from newest times read by the last check, so a report
 * is never older than the check interval and reading one costs no store call. Pure, apart from
 * `readFreshness` and `viewFreshness`, which read the offline store (and Kafka, for lag).
 */
import { toEpochMs } from '../features/time.ts';
import type { Registry } from '../registry/registry.ts';
import type { AggregationView, RowView } from '../registry/types.ts';
import { ARCHIVE_MARKS } from '../stores/sql/materializer-tables.ts';
import { historyTable } from '../stores/sql/history.ts';
import type { OfflineStore } from '../stores/types.ts';
import { lagByTopic } from './lag.ts';
import type { KafkaLag } from './lag.ts';

export type StoredView = RowView | AggregationView;

export interface ViewFreshness {
  readonly view: string;
  readonly kind: StoredView['kind'];
  /** Event time of the newest value, epoch ms; null when the view has none (or none was read yet). */
  readonly newestEventTime: number | null;
  /** How old that value is at the report's instant, ms (0 for a value dated in the future); null with no value. */
  readonly ageMs: number | null;
  /** The schema's `freshness:`, as written and in ms; null when it declares none. */
  readonly expected: string | null;
  readonly expectedMs: number | null;
  readonly stale: boolean;
  /** The Kafka topic feeding the view (its own, or its source's); null for a view fed only by pushes. */
  readonly topic: string | null;
  /** Messages on that topic not yet committed by the materializer; null when Kafka is not configured. */
  readonly lag: number | null;
}

export interface FreshnessReport {
  /** The instant ages are measured at, epoch ms. */
  readonly asOf: number;
  /** When the newest event times were last read successfully; null if never. */
  readonly checkedAt: number | null;
  /** Why the latest check failed, if it did: the report then shows what the check before it read. */
  readonly error: string | null;
  readonly views: readonly ViewFreshness[];
}

/** What one check reads. */
export interface FreshnessReading {
  readonly checkedAt: number;
  /** Newest event time by view name; null when the view has no value. */
  readonly newest: ReadonlyMap<string, number | null>;
  /** Uncommitted messages by topic; undefined when lag is not measured (or could not be). */
  readonly lag: ReadonlyMap<string, number> | undefined;
  /** Why lag could not be read, when it could not: Kafka being away does not void the event times. */
  readonly lagError?: string;
}

export function storedViews(registry: Registry): StoredView[] {
  return registry.views.filter((v): v is StoredView => v.kind !== 'onDemand');
}

/** The topic a view's values come from, if any. */
export function viewTopic(registry: Registry, view: StoredView): string | undefined {
  return view.kind === 'row' ? view.topic : registry.source(view.source)?.topic;
}

/** Every topic some stored view is fed by: the topics whose lag freshness reports. */
export function freshnessTopics(registry: Registry): string[] {
  return [...new Set(storedViews(registry).flatMap((v) => viewTopic(registry, v) ?? []))];
}

/**
 * One statement reading every newest event time: a row per row view (`view:<name>`) and per source an
 * aggregation view reads (`source:<name>`). A source's is the newest of its archive marks' newest event
 * times (a row per partition, moved by every archiving commit); a row view's is `max()` over its history
 * table, whose index leads with the join keys, so the max reads the table (docs/metrics.md says so).
 */
export function newestEventTimesSql(registry: Registry): { sql: string; params: string[] } {
  const params: string[] = [];
  const param = (value: string) => `$${params.push(value)}::text`;
  const parts: string[] = [];
  const sources = new Set<string>();
  for (const view of storedViews(registry)) {
    if (view.kind === 'row') parts.push(`select ${param(`view:${view.name}`)} as key, (select max(event_timestamp) from ${historyTable(view.name)}) as newest`);
    else if (!sources.has(view.source)) {
      sources.add(view.source);
      const key = param(`source:${view.source}`);
      parts.push(`select ${key} as key, (select max(newest_event_time) from ${ARCHIVE_MARKS} where source = ${param(view.source)}) as newest`);
    }
  }
  return { sql: parts.join(' union all '), params };
}

/** Newest event time by view, from the rows newestEventTimesSql returned. */
export function newestByView(registry: Registry, rows: readonly { key: string; newest: unknown }[]): Map<string, number | null> {
  const byKey = new Map(rows.map((r) => [r.key, toEpochMs(r.newest) ?? null]));
  return new Map(storedViews(registry).map((v) => [v.name, byKey.get(v.kind === 'row' ? `view:${v.name}` : `source:${v.source}`) ?? null]));
}

/**
 * The report at `now` from the last good reading (undefined: none yet) and the latest check's error.
 * A view without a reading yet is not called stale: nothing is known about it, and `error` says why.
 */
export function freshnessReport(registry: Registry, reading: FreshnessReading | undefined, now: number, error: string | null = null): FreshnessReport {
  const views = storedViews(registry).map((view): ViewFreshness => {
    const newest = reading?.newest.get(view.name) ?? null;
    const ageMs = newest === null ? null : Math.max(0, now - newest);
    const expectedMs = view.freshnessMs ?? null;
    const topic = viewTopic(registry, view) ?? null;
    const stale = expectedMs !== null && reading !== undefined && (ageMs === null || ageMs > expectedMs);
    const lag = topic === null ? null : (reading?.lag?.get(topic) ?? null);
    return { view: view.name, kind: view.kind, newestEventTime: newest, ageMs, expected: view.freshness ?? null, expectedMs, stale, topic, lag };
  });
  const lagError = reading?.lagError === undefined ? null : `lag: ${reading.lagError}`;
  return { asOf: now, checkedAt: reading?.checkedAt ?? null, error: error ?? lagError, views };
}

/** Reads every stored view's newest event time (one statement) and, given a lag reader, each topic's lag. */
export async function readFreshness(registry: Registry, offline: OfflineStore, lag: KafkaLag | undefined, now: number): Promise<FreshnessReading> {
  const { sql, params } = newestEventTimesSql(registry);
  const topics = freshnessTopics(registry);
  let lagError: string | undefined;
  const [rows, lags] = await Promise.all([
    params.length === 0 ? [] : offline.query<{ key: string; newest: unknown }>(sql, params),
    lag === undefined || topics.length === 0
      ? undefined
      : lag.read(topics).catch((error: unknown) => {
          lagError = error instanceof Error ? error.message : String(error);
          return undefined;
        }),
  ]);
  return { checkedAt: now, newest: newestByView(registry, rows), lag: lags === undefined ? undefined : lagByTopic(lags), ...(lagError === undefined ? {} : { lagError }) };
}

/**
 * Freshness of every stored view, read now: the programmatic API (a dashboard, a script, a test). A
 * gateway keeps a FreshnessMonitor instead, which reads on a timer and answers from memory.
 */
export async function viewFreshness(registry: Registry, offline: OfflineStore, options: { readonly now?: number; readonly lag?: KafkaLag } = {}): Promise<FreshnessReport> {
  const now = options.now ?? Date.now();
  return freshnessReport(registry, await readFreshness(registry, offline, options.lag, now), now);
}
