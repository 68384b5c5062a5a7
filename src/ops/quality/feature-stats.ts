/**
 * featureStats: per feature and recent window, the statistics of its values in the offline store and
 * its drift against the latest reference. The programmatic API behind `Query.featureStats`, the metrics
 * refresher and `skewless quality stats`; a dashboard can call it directly.
 *
 * Cost: per view, one window read (the longest window asked; shorter ones are cut from it), plus one
 * query for the references of every numeric feature asked. Never on the online read path.
 */
import { typeText } from '../../registry/fields.ts';
import type { Registry } from '../../registry/registry.ts';
import type { OfflineStore } from '../../stores/types.ts';
import { driftAgainst } from './drift.ts';
import type { Drift } from './drift.ts';
import type { QualityOptions } from './options.ts';
import { latestReferences } from './references.ts';
import type { StoredReference } from './references.ts';
import { summarize, valueKind } from './summary.ts';
import type { ValueKind, ValueSummary } from './summary.ts';
import { statsTargets } from './targets.ts';
import { cutWindow, readWindowSample } from './window-sample.ts';
import { requestedWindows } from './windows.ts';

export interface StatsRequest {
  /** A view's name; absent: every row and aggregation view. */
  readonly view?: string | null;
  /** A feature of `view`, or a `view:feature` ref; absent: every feature of the view(s). */
  readonly feature?: string | null;
  /** A duration ("24h"); absent: every configured window. */
  readonly window?: string | null;
  /** Where the windows end, epoch ms; absent: now. */
  readonly end?: number | null;
}

export interface QualityDeps {
  readonly registry: Registry;
  readonly offline: Pick<OfflineStore, 'query' | 'transaction'>;
  readonly options: QualityOptions;
  /** The instant "now" stands for, epoch ms. */
  readonly now: number;
}

export interface FeatureDrift extends Drift {
  readonly reference: StoredReference;
}

export interface FeatureStats {
  readonly ref: string;
  readonly view: string;
  readonly feature: string;
  /** Declared type, e.g. "Float". */
  readonly type: string;
  readonly kind: ValueKind;
  /** The window as written ("24h") and its bounds. */
  readonly window: string;
  readonly from: number;
  readonly to: number;
  /** `rows`: history rows in the window; `entities`: entities active in it, evaluated at its end. */
  readonly basis: 'rows' | 'entities';
  /** Whether the read limit (--quality-max-rows / --quality-max-entities) left part of the window out. */
  readonly truncated: boolean;
  readonly summary: ValueSummary;
  /** Against the feature's latest reference; null for non-numeric features or when it has none. */
  readonly drift: FeatureDrift | null;
}

/** Statistics in view, feature, window order; coded errors for unknown names and malformed windows. */
export async function featureStats(deps: QualityDeps, request: StatsRequest = {}): Promise<FeatureStats[]> {
  const { registry, offline, options } = deps;
  const targets = statsTargets(registry, request.view, request.feature);
  const windows = requestedWindows(request.window, options.windows);
  const end = request.end ?? deps.now;
  const longest = Math.max(...windows.map((w) => w.ms));
  const numeric = targets.flatMap((t) => t.features.filter((f) => valueKind(f.type) === 'numeric').map((f) => ({ view: t.view.name, feature: f.name })));
  const references = await latestReferences(offline, numeric);
  const out: FeatureStats[] = [];
  for (const { view, features } of targets) {
    const sample = await readWindowSample(registry, offline, view, features, end - longest, end, options);
    const cuts = windows.map((w) => cutWindow(sample, end - w.ms));
    features.forEach((feature, f) => {
      const kind = valueKind(feature.type);
      const reference = kind === 'numeric' ? references.get(feature.ref) : undefined;
      windows.forEach((window, w) => {
        const { values, truncated } = cuts[w]!;
        out.push({
          ref: feature.ref,
          view: view.name,
          feature: feature.name,
          type: typeText(feature.type),
          kind,
          window: window.label,
          from: end - window.ms,
          to: end,
          basis: sample.basis,
          truncated,
          summary: summarize(values[f]!, kind),
          drift: reference === undefined ? null : { reference, ...driftAgainst(reference, values[f]!) },
        });
      });
    });
  }
  return out;
}
