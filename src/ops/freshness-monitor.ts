/**
 * Keeps a process's view of freshness (freshness.ts): reads every stored view's newest event time (and
 * Kafka lag, when configured) at start and then every interval, and answers /readyz, /metrics and
 * `Query.freshness` from what it read last, with ages measured at the moment of asking. Nothing here
 * runs on the read path, and a scrape or a probe costs no store call.
 *
 * Gauges (docs/metrics.md): skewless_view_freshness_age_seconds{view}, skewless_view_stale{view},
 * skewless_view_expected_freshness_seconds{view}, skewless_view_lag_messages{view},
 * skewless_freshness_checked_timestamp_seconds; the counter skewless_freshness_check_failures_total.
 */
import type { Gauge } from 'prom-client';
import type { Registry } from '../registry/registry.ts';
import type { OfflineStore } from '../stores/types.ts';
import { freshnessReport, readFreshness } from './freshness.ts';
import type { FreshnessReading, FreshnessReport } from './freshness.ts';
import type { KafkaLag } from './lag.ts';
import type { Logger } from './log.ts';
import { counter, gauge } from './metrics.ts';
import type { Metrics } from './metrics.ts';
import { periodic } from './periodic.ts';
import type { Periodic } from './periodic.ts';

export interface FreshnessMonitorOptions {
  /** How often newest event times and lag are read again, ms (--freshness-interval). */
  readonly intervalMs: number;
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
  /** Reads Kafka lag; without it, lag is not reported. */
  readonly lag?: KafkaLag | undefined;
  readonly metrics?: Metrics | undefined;
  readonly logger?: Logger | undefined;
}

export class FreshnessMonitor {
  readonly #registry: Registry;
  readonly #offline: OfflineStore;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #periodic: Periodic;
  readonly #onFailure: (() => void) | undefined;
  #reading: FreshnessReading | undefined;
  #error: string | null = null;
  #stale = new Set<string>();

  constructor(registry: Registry, offline: OfflineStore, options: FreshnessMonitorOptions) {
    this.#registry = registry;
    this.#offline = offline;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#periodic = periodic(() => this.#check(options.lag), options.intervalMs, (error) => this.#failed(error));
    this.#onFailure = options.metrics === undefined ? undefined : this.#register(options.metrics);
  }

  /** The first check (awaited: a process starts knowing its freshness), then one every interval. */
  start(): Promise<void> {
    return this.#periodic.start();
  }

  /** A check now (or the one under way); resolves when done. For tests, and after a known write. */
  refresh(): Promise<void> {
    return this.#periodic.runNow();
  }

  stop(): void {
    this.#periodic.stop();
  }

  /** Freshness at this instant, from the last check. */
  report(): FreshnessReport {
    return freshnessReport(this.#registry, this.#reading, this.#now(), this.#error);
  }

  async #check(lag: KafkaLag | undefined): Promise<void> {
    this.#reading = await readFreshness(this.#registry, this.#offline, lag, this.#now());
    this.#error = null;
    this.#logTransitions();
  }

  #failed(error: unknown): void {
    this.#error = error instanceof Error ? error.message : String(error);
    this.#onFailure?.();
    this.#logger?.warn('freshness.check_failed', { error: this.#error });
  }

  /** One line when a view turns stale and one when it recovers, not one per check. */
  #logTransitions(): void {
    if (this.#logger === undefined) return;
    const views = this.report().views;
    const stale = new Set(views.filter((v) => v.stale).map((v) => v.view));
    for (const v of views) {
      if (v.stale && !this.#stale.has(v.view)) this.#logger.warn('freshness.stale', { view: v.view, ageMs: v.ageMs, expected: v.expected });
      if (!v.stale && this.#stale.has(v.view)) this.#logger.info('freshness.recovered', { view: v.view, ageMs: v.ageMs, expected: v.expected });
    }
    this.#stale = stale;
  }

  /** Gauges read the report when scraped; returns what counts a failed check. */
  #register(metrics: Metrics): () => void {
    const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);
    const views: [string, string, (v: FreshnessReport['views'][number]) => number | null][] = [
      ['skewless_view_freshness_age_seconds', 'Age of the newest value of a stored view (row view: newest event_timestamp in history; aggregation view: newest archived event of its source), at scrape time.', (v) => seconds(v.ageMs)],
      ['skewless_view_stale', '1 when a view is older than the freshness its schema declares (or has no value at all), else 0.', (v) => (v.stale ? 1 : 0)],
      ['skewless_view_expected_freshness_seconds', "The view's declared @featureView(freshness:).", (v) => seconds(v.expectedMs)],
      ['skewless_view_lag_messages', "Messages on the view's topic not yet committed by the materializer (Kafka end offsets minus offsets stored in PostgreSQL).", (v) => v.lag],
    ];
    for (const [name, help, value] of views) {
      const g: Gauge<'view'> = gauge(metrics, {
        name,
        help,
        labelNames: ['view'],
        collect: () => {
          // Views without a value (no age, no lag) have no sample rather than a made-up one.
          g.reset();
          for (const v of this.report().views) {
            const x = value(v);
            if (x !== null) g.set({ view: v.view }, x);
          }
        },
      });
    }
    const checked: Gauge = gauge(metrics, {
      name: 'skewless_freshness_checked_timestamp_seconds',
      help: 'When view freshness was last read successfully, seconds since the epoch.',
      collect: () => {
        const at = this.#reading?.checkedAt;
        if (at !== undefined) checked.set(at / 1000);
      },
    });
    const failures = counter(metrics, { name: 'skewless_freshness_check_failures_total', help: 'Freshness checks that could not read the offline store.' });
    return () => failures.inc();
  }
}
