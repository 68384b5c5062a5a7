/** `skewless validate`: every problem in schema/ and transforms/, or a summary of what they define. */
import type { Config } from '../config/config.ts';
import { formatProblem } from '../registry/problems.ts';
import type { Problem } from '../registry/problems.ts';
import { loadRegistry } from '../registry/load.ts';
import type { Registry } from '../registry/registry.ts';

export async function validateCommand(config: Config, json: boolean, out: (line: string) => void): Promise<number> {
  const result = await loadRegistry(config);
  if (json) {
    out(JSON.stringify(result.ok ? { ok: true, summary: summarize(result.registry) } : { ok: false, problems: result.problems }, null, 2));
  } else if (result.ok) {
    out(`ok: ${summarize(result.registry)}`);
  } else {
    out(problemReport(result.problems));
  }
  return result.ok ? 0 : 1;
}

/** The report `validate` and a refused `serve` print: one line per problem, then a count. */
export function problemReport(problems: readonly Problem[]): string {
  const files = new Set(problems.map((p) => p.loc.file)).size;
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}`;
  return [...problems.map(formatProblem), count].join('\n');
}

export function summarize(registry: Registry): string {
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  const features = registry.views.reduce((sum, v) => sum + v.features.length, 0);
  return [
    n(registry.entities.length, 'entity').replace('entitys', 'entities'),
    n(registry.sources.length, 'source'),
    `${n(registry.views.length, 'feature view')} (${n(features, 'feature')})`,
    n(registry.requestTypes.length, 'request type'),
    n(registry.services.length, 'feature service'),
  ].join(', ');
}
