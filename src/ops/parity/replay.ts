/**
 * Judging samples: each one replayed through the historical path — `historicalFrame`, the code
 * `historicalFeatures` runs — for its keys at its T, as known at T, and compared feature by feature with
 * what the online path served (judge.ts).
 *
 * As known at T: a row view's history rows created after T are left out, so a row that reached the
 * offline store after the sample (a late push, a slow materializer) is not held against the online answer.
 * Aggregation views have no created time: every archived event dated before T counts (docs/parity.md says
 * what that means for late events).
 */
import { SkewlessError } from '../../errors.ts';
import type { Registry } from '../../registry/registry.ts';
import type { FeatureView } from '../../registry/types.ts';
import type { ServingContext } from '../../serving/context.ts';
import type { FeatureFrame } from '../../serving/frame.ts';
import { historicalFrame } from '../../serving/historical-frame.ts';
import { judge } from './judge.ts';
import { transformHashes } from './samples.ts';
import type { ResultRow, StoredSample } from './tables.ts';
import { decodeValue } from './values.ts';

/** A sample with its values decoded. */
interface Sample {
  readonly stored: StoredSample;
  readonly asOf: number;
  readonly values: Readonly<Record<string, unknown>>;
  readonly request: Readonly<Record<string, unknown>> | null;
}

/** Verdicts for samples of one view the registry defines, one per feature each sample holds. */
export async function judgeView(ctx: ServingContext, registry: Registry, view: FeatureView, stored: readonly StoredSample[]): Promise<ResultRow[]> {
  const { name } = view;
  const samples: Sample[] = stored.map((s) => ({
    stored: s,
    asOf: s.sampled_at.getTime(),
    values: decodeValue(s.values) as Record<string, unknown>,
    request: s.request === null ? null : (decodeValue(s.request) as Record<string, unknown>),
  }));
  const out: ResultRow[] = [];
  let replayable: Sample[] = [];
  for (const sample of samples) {
    const reason = unfair(registry, view, sample);
    if (reason === undefined) replayable.push(sample);
    else out.push(...skipped(sample, reason));
  }
  let frame: FeatureFrame | undefined;
  // One retry: rows the historical path refuses (their keys or request no longer fit the schema) are
  // skipped and the rest replayed, rather than one bad sample costing its whole batch.
  for (let attempt = 0; frame === undefined && replayable.length > 0; attempt++) {
    try {
      frame = await historicalFrame(ctx, { features: [name], entities: replayable.map((s) => entityRow(registry, view, s)), asKnownAt: true });
    } catch (error) {
      if (!(error instanceof SkewlessError)) throw error;
      const bad = new Set(((error.details?.rowErrors ?? []) as { row: number }[]).map((e) => e.row));
      if (attempt > 0 || bad.size === 0 || bad.size === replayable.length) {
        for (const sample of replayable) out.push(...skipped(sample, `REPLAY_FAILED ${error.code}`));
        return out;
      }
      replayable.forEach((sample, r) => bad.has(r) && out.push(...skipped(sample, `REPLAY_FAILED ${error.code}`)));
      replayable = replayable.filter((_, r) => !bad.has(r));
    }
  }
  if (frame === undefined) return out;
  const columns = new Map(frame.columns.map((c, i) => [c, i]));
  replayable.forEach((sample, r) => {
    for (const [feature, onlineValue] of Object.entries(sample.values)) {
      const col = columns.get(`${name}:${feature}`);
      const base = { sampleId: sample.stored.id, feature, view: name, keys: sample.stored.keys, asOf: sample.asOf, onlineStatus: sample.stored.status, onlineValue };
      if (col === undefined) {
        out.push({ ...base, outcome: 'SKIPPED', reason: 'FEATURE_REMOVED', offlineStatus: undefined, offlineValue: null });
        continue;
      }
      const status = frame.statuses[r]![col]!;
      const value = frame.rows[r]![col];
      const error = status === 'ERROR' ? frame.errors.find((e) => e.rows.includes(r) && e.view === name)?.code : undefined;
      const verdict = judge({ status: sample.stored.status, value: onlineValue }, { status, value, error });
      out.push({ ...base, outcome: verdict.outcome, reason: verdict.reason, offlineStatus: status, offlineValue: value });
    }
  });
  return out;
}

/** Why a sample cannot be compared fairly with today's definitions, or undefined when it can. */
function unfair(registry: Registry, view: FeatureView, sample: Sample): string | undefined {
  if (view.kind === 'onDemand') {
    // Another transform (or a chained one) computes this view now: its value then and ours now differ by design.
    const now = transformHashes(registry, view);
    const then = sample.stored.transforms ?? {};
    const names = new Set([...Object.keys(now), ...Object.keys(then)]);
    for (const v of names) if (now[v] !== then[v]) return 'TRANSFORM_CHANGED';
  }
  for (const entity of view.entities) {
    for (const key of registry.entity(entity)?.joinKeys ?? []) if (typeof sample.stored.keys[key.name] !== 'string') return 'KEYS_CHANGED';
  }
  return undefined;
}

/** The entity row the historical path takes: join keys (typed as declared), T, and the request fields. */
function entityRow(registry: Registry, view: FeatureView, sample: Sample): Record<string, unknown> {
  const row: Record<string, unknown> = { ...sample.request, event_timestamp: sample.asOf };
  for (const entity of view.entities) {
    for (const key of registry.entity(entity)!.joinKeys) {
      const text = sample.stored.keys[key.name]!;
      // Keys are kept as their canonical text; an Int key goes back as the number it was.
      row[key.name] = key.type.scalar === 'Int' ? Number(text) : text;
    }
  }
  return row;
}

function skipped(sample: Sample, reason: string): ResultRow[] {
  return Object.entries(sample.values).map(([feature, onlineValue]) => ({
    sampleId: sample.stored.id,
    feature,
    view: sample.stored.view,
    keys: sample.stored.keys,
    asOf: sample.asOf,
    outcome: 'SKIPPED',
    reason,
    onlineStatus: sample.stored.status,
    onlineValue,
    offlineStatus: undefined,
    offlineValue: null,
  }));
}
