/**
 * What the tests that run `skewless materialize` as child processes share: a temporary repository whose
 * schema has a row view fed by one topic and a COUNT/SUM aggregation view over a source on another, and
 * how to start a materializer on it against the test services.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './paths.ts';
import { serviceUrl } from './services.ts';

export interface MaterializerRepo {
  /** The repository directory (schema/ and an empty transforms/). */
  readonly dir: string;
  /** The schema's text, for registryFromSdl. */
  readonly sdl: string;
}

/**
 * Writes the repository. `source` names the source type, which names the archive table: it is shared with
 * other runs of the same test, so rows are told apart by user_id.
 */
export async function materializerRepo(prefix: string, names: { source: string; eventsTopic: string; rowsTopic: string; rowsView: string; spendView: string }): Promise<MaterializerRepo> {
  const dir = await mkdtemp(path.join(tmpdir(), `skewless-${prefix}-`));
  await mkdir(path.join(dir, 'schema'));
  await mkdir(path.join(dir, 'transforms'));
  const sdl = `type User @entity(key: ["user_id"]) { user_id: ID! }
       type ${names.source} @source(topic: "${names.eventsTopic}", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
       type Stats @featureView(entity: "User", topic: "${names.rowsTopic}", name: "${names.rowsView}") { n: Int }
       type Spend @featureView(entity: "User", source: "${names.source}", name: "${names.spendView}") {
         c: Int! @aggregate(fn: COUNT, window: "1d")
         s: Float! @aggregate(fn: SUM, of: "amount", window: "1d")
       }`;
  await writeFile(path.join(dir, 'schema', `${prefix}.graphql`), sdl);
  return { dir, sdl };
}

/** `skewless materialize` on the repository, in one consumer group, with a 6 s session timeout so rebalances are quick. */
export function spawnMaterializer(repo: MaterializerRepo, group: string, logLevel: 'error' | 'warn', stdio: StdioOptions): ChildProcess {
  return spawn(
    process.execPath,
    [path.join(ROOT, 'src/cli/main.ts'), 'materialize', '--schema', path.join(repo.dir, 'schema'), '--transforms', path.join(repo.dir, 'transforms'), '--consumer-group', group, '--kafka-session-timeout', '6000', '--log-level', logLevel],
    { cwd: ROOT, env: { ...process.env, KAFKA_BROKERS: serviceUrl('KAFKA_BROKERS'), DATABASE_URL: serviceUrl('DATABASE_URL'), REDIS_URL: serviceUrl('REDIS_URL') }, stdio },
  );
}
