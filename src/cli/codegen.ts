/**
 * `skewless codegen [--check]`: writes transforms/generated/<transform>.ts, the input and output types of
 * every transform, from the registry. `--check` writes nothing and fails if a file is missing or stale.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { loadRegistry } from '../registry/load.ts';
import { generateTransformTypes } from '../transforms/codegen.ts';
import { problemReport } from './validate.ts';

export async function codegenCommand(config: Config, check: boolean, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  // Types are generated from the schema alone: a transform that does not compile yet must not stop it.
  const result = await loadRegistry(config);
  if (!result.ok && result.problems.some((p) => p.code !== 'TRANSFORM_INVALID')) {
    err(problemReport(result.problems));
    return 1;
  }
  if (!result.ok) {
    err('skewless codegen: the schema builds, but a transform does not compile: fix it after generating its types.');
    err(problemReport(result.problems));
    return 1;
  }
  const stale: string[] = [];
  for (const [file, text] of generateTransformTypes(result.registry)) {
    const target = path.join(config.transformsDir, file);
    const current = await readFile(target, 'utf8').catch(() => undefined);
    if (current === text) continue;
    if (check) {
      stale.push(target);
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
    out(`wrote ${path.relative(process.cwd(), target)}`);
  }
  if (stale.length > 0) {
    err(`skewless codegen --check: out of date (run skewless codegen): ${stale.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    return 1;
  }
  return 0;
}
