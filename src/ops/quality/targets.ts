/**
 * Which features a statistics request is about: every stored feature, one view's, or one feature (by
 * `view` and `feature`, or a `view:feature` ref in `feature`). Unknown names are coded errors with the
 * closest known name. On-demand views have no stored values to describe (their transforms run per
 * request), so naming one is refused and listing everything leaves them out. Pure.
 */
import { SkewlessError } from '../../errors.ts';
import { parseFeatureRef } from '../../features/names.ts';
import type { Registry } from '../../registry/registry.ts';
import { suggest } from '../../registry/suggest.ts';
import type { AggregationView, Feature, RowView } from '../../registry/types.ts';

export interface StatsTarget {
  readonly view: RowView | AggregationView;
  readonly features: readonly Feature[];
}

export function statsTargets(registry: Registry, view?: string | null, feature?: string | null): StatsTarget[] {
  let viewName = view ?? undefined;
  let featureName = feature ?? undefined;
  if (featureName?.includes(':')) {
    const ref = parseFeatureRef(featureName);
    if (ref === undefined || ref.feature === undefined || (viewName !== undefined && viewName !== ref.view)) {
      throw new SkewlessError('INVALID_SELECTION', `feature must be a feature name of the view, or a "view:feature" ref when no view is given; got ${JSON.stringify(featureName)}`, {
        httpStatus: 400,
      });
    }
    viewName = ref.view;
    featureName = ref.feature;
  }
  if (viewName === undefined) {
    if (featureName !== undefined) throw new SkewlessError('INVALID_SELECTION', `feature "${featureName}" needs its view: give view too, or a "view:feature" ref`, { httpStatus: 400 });
    return registry.views.filter((v) => v.kind !== 'onDemand').map((v) => ({ view: v, features: v.features }));
  }
  const found = registry.view(viewName);
  if (found === undefined) {
    throw new SkewlessError('UNKNOWN_VIEW', `unknown feature view "${viewName}"${suggest(viewName, registry.views.map((v) => v.name))}`, { httpStatus: 400 });
  }
  if (found.kind === 'onDemand') {
    throw new SkewlessError('STATS_UNAVAILABLE', `${found.name} is an on-demand view: its values are computed per request and never stored, so there is no window of them to describe; ask for the views it reads (${found.inputs.join(', ')})`, {
      httpStatus: 400,
    });
  }
  if (featureName === undefined) return [{ view: found, features: found.features }];
  const one = found.features.find((f) => f.name === featureName);
  if (one === undefined) {
    throw new SkewlessError('UNKNOWN_FEATURE', `view ${found.name} has no feature "${featureName}"${suggest(featureName, found.features.map((f) => f.name))}`, {
      httpStatus: 400,
      details: { unknown: [`${found.name}:${featureName}`] },
    });
  }
  return [{ view: found, features: [one] }];
}
