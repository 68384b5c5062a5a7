/**
 * What the one-shot commands that work on stores other processes write (backfill, rebuild-online, parity,
 * quality) share: refusing stores that would vanish with the process, loading the registry with its
 * problems reported, and turning a coded failure into one line and exit code 1.
 */
import type { Config } from '../config/config.ts';
import { SkewlessError } from '../errors.ts';
import { loadRegistry } from '../registry/load.ts';
import type { Registry } from '../registry/registry.ts';
import { problemReport } from './validate.ts';

/**
 * Embedded stores live in this process's memory unless told otherwise: a command would read nothing
 * another process wrote, or write what nobody will read, and report success. Refuse instead. `online`:
 * whether the command uses the online store too.
 */
export function requireLastingStores(config: Config, command: string, options: { readonly online: boolean } = { online: true }): void {
  const missing: string[] = [];
  if (config.databaseUrl === undefined && config.pgliteDir === undefined) {
    missing.push('the offline store would be an empty in-memory PGlite: set DATABASE_URL (or --database-url), or --pglite-dir DIR for an embedded store kept on disk');
  }
  if (options.online && config.redisUrl === undefined) missing.push("the online store would be this process's memory: set REDIS_URL (or --redis-url)");
  if (missing.length > 0) throw new SkewlessError('NEEDS_STORES', `refusing to ${command} stores that vanish when the command exits: ${missing.join('; ')}`);
}

/** The registry; undefined after reporting its problems on `err`. */
export async function registryFor(config: Config, command: string, err: (text: string) => void): Promise<Registry | undefined> {
  const loaded = await loadRegistry(config);
  if (loaded.ok) return loaded.registry;
  err(`skewless ${command}: the schema has problems\n${problemReport(loaded.problems)}`);
  return undefined;
}

/** Runs a command's body: a coded failure is one line on `err` and exit code 1; a usage error (INVALID_CONFIG) and anything unexpected go on up. */
export async function reportingFailures(command: string, err: (text: string) => void, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SkewlessError && error.code !== 'INVALID_CONFIG') {
      err(`skewless ${command}: ${error.message} (${error.code})`);
      return 1;
    }
    throw error;
  }
}
