/**
 * Metrics of the transform sandbox: a PoolObserver (transforms/pool.ts) that records each batch's
 * duration, rows and row failures by transform, and isolates replaced after a timeout or an
 * out-of-memory kill.
 *
 * A batch runs a plan: usually one transform, sometimes a chain (an on-demand view reading another). Its
 * duration is labelled with the plan's transforms joined by `+`; rows and failures are counted per
 * transform. Labels of a plan are worked out the first time it runs, then reused.
 */
import type { Counter, Histogram } from 'prom-client';
import { ALL_STEPS } from '../transforms/pool.ts';
import type { PoolObserver, RowError, SandboxPlan } from '../transforms/pool.ts';
import { LATENCY_BUCKETS, counter, histogram } from './metrics.ts';
import type { Metrics } from './metrics.ts';

interface PlanLabels {
  readonly seconds: Histogram.Internal<'transform'>;
  /** The transform of each step, by step index. */
  readonly transforms: readonly string[];
  /** The plan's distinct transforms, and their rows counters. */
  readonly unique: readonly string[];
  readonly rows: readonly Counter.Internal[];
}

export function transformMetrics(metrics: Metrics): PoolObserver {
  const seconds = histogram(metrics, {
    name: 'skewless_transform_batch_duration_seconds',
    help: 'Wall time of one sandbox batch (an online request, or a chunk of a historical query), by transform ("a+b" for a chain).',
    labelNames: ['transform'],
    buckets: LATENCY_BUCKETS,
  });
  const rows = counter(metrics, {
    name: 'skewless_transform_rows_total',
    help: 'Rows a transform was run on, by transform.',
    labelNames: ['transform'],
  });
  const failures = counter(metrics, {
    name: 'skewless_transform_failures_total',
    help: 'Rows a transform failed on, by transform and code (TRANSFORM_FAILED, TRANSFORM_TIMEOUT, TRANSFORM_OOM, INTERNAL for a batch that could not run at all).',
    labelNames: ['transform', 'code'],
  });
  const restarts = counter(metrics, {
    name: 'skewless_transform_isolate_restarts_total',
    help: 'Isolates killed and replaced, by code (TRANSFORM_TIMEOUT, TRANSFORM_OOM).',
    labelNames: ['code'],
  });
  const plans = new Map<string, PlanLabels>();
  const labelsOf = (plan: SandboxPlan): PlanLabels => {
    let labels = plans.get(plan.id);
    if (labels === undefined) {
      const transforms = plan.steps.map((s) => s.transform);
      const unique = [...new Set(transforms)];
      labels = { seconds: seconds.labels(unique.join('+')), transforms, unique, rows: unique.map((t) => rows.labels(t)) };
      plans.set(plan.id, labels);
    }
    return labels;
  };
  return {
    batch(plan, n, took, errors) {
      const labels = labelsOf(plan);
      labels.seconds.observe(took);
      for (const counted of labels.rows) counted.inc(n);
      if (errors === undefined) {
        for (const transform of labels.unique) failures.inc({ transform, code: 'INTERNAL' }, n);
        return;
      }
      for (const [key, count] of failureCounts(labels.transforms, errors)) {
        const [transform, code] = key.split('\u0000') as [string, string];
        failures.inc({ transform, code }, count);
      }
    },
    isolateReplaced(code) {
      restarts.inc({ code });
    },
  };
}

/**
 * Failed rows per (transform, code), keyed `transform\0code`. A row counts once per transform even when
 * several of its steps failed; an error for every step (the isolate died, ALL_STEPS) counts for each of
 * the plan's transforms.
 */
export function failureCounts(transforms: readonly string[], errors: readonly RowError[]): Map<string, number> {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const e of errors) {
    const steps = e.step === ALL_STEPS ? transforms : [transforms[e.step]!];
    for (const transform of new Set(steps)) {
      const row = `${transform}\u0000${e.row}`;
      if (seen.has(row)) continue;
      seen.add(row);
      const key = `${transform}\u0000${e.code}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}
