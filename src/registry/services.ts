/** Feature services: named sets of features a model reads. */
import { TYPE_DIRECTIVES, readDirectiveArgs } from './directives.ts';
import type { Declared } from './build.ts';
import { definitionName } from './common.ts';
import type { Problem } from './problems.ts';
import { suggest } from './suggest.ts';
import type { FeatureService, FeatureView } from './types.ts';
import { parseFeatureRef } from '../features/names.ts';

export function buildServices(declared: readonly Declared[], views: readonly FeatureView[], problems: Problem[]): FeatureService[] {
  const out: FeatureService[] = [];
  for (const { decl, use } of declared) {
    const args = readDirectiveArgs(use, TYPE_DIRECTIVES.featureService, problems);
    if (args === undefined) continue;
    const name = definitionName(decl, args.name, args.$loc('name'), problems);
    const loc = args.$loc('features');
    for (const field of decl.fields) {
      problems.push({ code: 'UNSUPPORTED_DEFINITION', message: `a feature service lists features in @featureService(features:), not as fields ("${field.name}")`, loc: field.loc });
    }
    if (args.features.length === 0) problems.push({ code: 'EMPTY_DEFINITION', message: `feature service ${name} lists no features`, loc });
    const refs: string[] = [];
    for (const ref of args.features) {
      const parsed = parseFeatureRef(ref);
      if (parsed === undefined) {
        problems.push({ code: 'UNKNOWN_FEATURE', message: `"${ref}" is not a feature ref; write "view:feature" or "view"`, loc });
        continue;
      }
      const view = views.find((v) => v.name === parsed.view);
      if (view === undefined) {
        problems.push({ code: 'UNKNOWN_VIEW', message: `view "${parsed.view}" is not defined${suggest(parsed.view, views.map((v) => v.name))}`, loc });
      } else if (parsed.feature === undefined) {
        refs.push(...view.features.map((f) => f.ref));
      } else if (view.features.some((f) => f.name === parsed.feature)) {
        refs.push(ref);
      } else {
        const known = view.features.map((f) => f.name);
        problems.push({ code: 'UNKNOWN_FEATURE', message: `view ${view.name} has no feature "${parsed.feature}"${suggest(parsed.feature, known)}`, loc });
      }
    }
    out.push({ name, typeName: decl.name, description: decl.description, owner: args.owner, tags: args.tags ?? [], features: [...new Set(refs)], loc: decl.loc });
  }
  return out;
}
