/**
 * The materializer's metrics: a MaterializerObserver (materializer/consumer.ts) counting what Kafka
 * handed over, what each commit wrote (events per source, rows per view, dead letters by reason, online
 * writes, redeliveries skipped) and how long commits take. Registered once, at start-up; docs/metrics.md
 * lists them. It also writes one debug line per commit, which is how a test (or an operator with
 * --log-level debug) follows progress.
 */
import type { CommitResult } from '../materializer/commit.ts';
import type { MaterializerObserver } from '../materializer/consumer.ts';
import type { Logger } from './log.ts';
import { LATENCY_BUCKETS, SIZE_BUCKETS, counter, histogram } from './metrics.ts';
import type { Metrics } from './metrics.ts';

export function materializerMetrics(metrics: Metrics, logger?: Logger): MaterializerObserver {
  const fetched = counter(metrics, {
    name: 'skewless_materializer_fetched_messages_total',
    help: 'Messages Kafka handed to the materializer, by topic (redeliveries included).',
    labelNames: ['topic'],
  });
  const batches = counter(metrics, {
    name: 'skewless_materializer_fetched_batches_total',
    help: 'Batches Kafka handed to the materializer (one partition each), by topic.',
    labelNames: ['topic'],
  });
  const events = counter(metrics, {
    name: 'skewless_materializer_events_total',
    help: 'Raw events committed (archived and folded into tiles), by source.',
    labelNames: ['source'],
  });
  const rows = counter(metrics, {
    name: 'skewless_materializer_rows_total',
    help: 'Feature rows committed to history, by row view.',
    labelNames: ['view'],
  });
  const dead = counter(metrics, {
    name: 'skewless_materializer_dead_letters_total',
    help: 'Messages set aside in the dead-letter table, by topic and reason (MALFORMED, INVALID, LATE, FUTURE).',
    labelNames: ['topic', 'reason'],
  });
  const skipped = counter(metrics, {
    name: 'skewless_materializer_skipped_messages_total',
    help: 'Redelivered messages recognised as already committed and skipped.',
  });
  const online = counter(metrics, {
    name: 'skewless_materializer_online_writes_total',
    help: 'Online store writes made by commits (a row view entity, or an aggregation view entity\'s pieces).',
  });
  const commits = counter(metrics, {
    name: 'skewless_materializer_commits_total',
    help: 'Commits by outcome: ok, online_behind (in PostgreSQL, online writes owed), failed (its batches fetched again and retried).',
    labelNames: ['outcome'],
  });
  const seconds = histogram(metrics, {
    name: 'skewless_materializer_commit_duration_seconds',
    help: 'Wall time of one commit (one PostgreSQL transaction over the batches of several partitions, then the online writes).',
    buckets: LATENCY_BUCKETS,
  });
  const size = histogram(metrics, {
    name: 'skewless_materializer_commit_messages',
    help: 'Messages per commit.',
    buckets: SIZE_BUCKETS,
  });
  return {
    fetched(topic, _partition, n) {
      fetched.inc({ topic }, n);
      batches.inc({ topic });
    },
    committed(result, messages, took) {
      commits.inc({ outcome: 'ok' });
      seconds.observe(took);
      size.observe(messages);
      const counts = commitCounts(result);
      for (const [source, n] of counts.events) events.inc({ source }, n);
      for (const [view, n] of counts.rows) rows.inc({ view }, n);
      for (const [key, n] of counts.dead) {
        const [topic, reason] = key.split('\u0000') as [string, string];
        dead.inc({ topic, reason }, n);
      }
      if (result.skipped > 0) skipped.inc(result.skipped);
      if (result.onlineWrites > 0) online.inc(result.onlineWrites);
      logger?.debug('materializer.committed', { messages, events: counts.totalEvents, rows: counts.totalRows, dead: result.dead.length, skipped: result.skipped, ms: Math.round(took * 1e4) / 10 });
    },
    onlineBehind() {
      commits.inc({ outcome: 'online_behind' });
    },
    failed() {
      commits.inc({ outcome: 'failed' });
    },
  };
}

/** What one commit wrote, counted: events by source, rows by view, dead letters by `topic\0reason`. */
export function commitCounts(result: Pick<CommitResult, 'events' | 'rows' | 'dead'>): {
  events: Map<string, number>;
  rows: Map<string, number>;
  dead: Map<string, number>;
  totalEvents: number;
  totalRows: number;
} {
  const events = new Map([...result.events].map(([source, list]) => [source, list.length]));
  const rows = new Map([...result.rows].map(([view, list]) => [view, list.length]));
  const dead = new Map<string, number>();
  for (const d of result.dead) {
    const key = `${d.topic}\u0000${d.reason}`;
    dead.set(key, (dead.get(key) ?? 0) + 1);
  }
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return { events, rows, dead, totalEvents: sum(events), totalRows: sum(rows) };
}
