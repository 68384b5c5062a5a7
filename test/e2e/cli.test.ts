/** The skewless command as users run it: validate, refusing a broken schema, bad settings, help. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embeddedEnv, runCli } from '../helpers/cli.ts';
import { SETTINGS } from '../../src/config/settings.ts';
import { ROOT } from '../helpers/paths.ts';

describe('skewless CLI', () => {
  let broken: string;

  before(async () => {
    broken = await mkdtemp(path.join(tmpdir(), 'skewless-broken-'));
    await writeFile(
      path.join(broken, 'views.graphql'),
      'type User @entity(key: ["user_id"]) { user_id: ID! }\ntype Stats @featureView(entity: "Usr", ttl: "3 days") { n: Int }\n',
    );
  });
  after(() => rm(broken, { recursive: true, force: true }));

  it('validate accepts the example repository and summarizes it', async () => {
    const { code, stdout } = await runCli(['validate']);
    assert.equal(code, 0);
    assert.match(stdout, /^ok: 2 entities, 1 source, 4 feature views \(13 features\), 1 request type, 1 feature service$/m);
  });

  it('validate prints every problem with file, line, column and code, and exits non-zero', async () => {
    const { code, stdout } = await runCli(['validate', '--schema', broken]);
    assert.equal(code, 1);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /views\.graphql:2:25 {2}UNKNOWN_ENTITY {2}entity "Usr" is not defined \(did you mean "User"\?\)$/);
    assert.match(lines[1]!, /views\.graphql:2:40 {2}INVALID_TTL /);
    assert.equal(lines[2], '2 problems in 1 file');
  });

  it('validate --json gives the same problems as data', async () => {
    const { code, stdout } = await runCli(['validate', '--json', '--schema', broken]);
    assert.equal(code, 1);
    const report = JSON.parse(stdout) as { ok: boolean; problems: { code: string; loc: { line: number; column: number } }[] };
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems.map((p) => [p.code, p.loc.line, p.loc.column]), [
      ['UNKNOWN_ENTITY', 2, 25],
      ['INVALID_TTL', 2, 40],
    ]);
  });

  it('serve refuses a broken schema with the full report and never listens', async () => {
    const { code, stdout, stderr } = await runCli(['serve', '--port', '0', '--schema', broken]);
    assert.equal(code, 1);
    assert.match(stderr, /refusing to serve/);
    assert.match(stderr, /UNKNOWN_ENTITY/);
    assert.match(stderr, /INVALID_TTL/);
    assert.doesNotMatch(stdout, /listening/);
  });

  it('refuses an unknown flag and a malformed URL, naming the setting and its origin', async () => {
    const flag = await runCli(['serve', '--prot', '4000']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown option --prot \(did you mean --port\?\)/);
    const url = await runCli(['serve'], embeddedEnv({ REDIS_URL: 'localhost:6379' }));
    assert.equal(url.code, 2);
    assert.match(url.stderr, /--redis-url \/ REDIS_URL \(from environment REDIS_URL\): expected a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('refuses an unknown command', async () => {
    const { code, stderr } = await runCli(['serv']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown command "serv"/);
  });

  it('help lists every option with its environment variable and default', async () => {
    const { code, stdout } = await runCli(['help']);
    assert.equal(code, 0);
    for (const spec of Object.values(SETTINGS)) {
      assert.ok(stdout.includes(`--${spec.flag}`), spec.flag);
      assert.ok(stdout.includes(spec.env), spec.env);
      if ('default' in spec) assert.ok(stdout.includes(`Default: ${spec.default}.`), `${spec.flag} default`);
    }
  });

  it('runs as the compiled package (dist/) the bin and the Docker image use', async () => {
    // Inside the checkout, so the compiled files resolve dependencies from its node_modules.
    const outDir = await mkdtemp(path.join(ROOT, '.test-dist-'));
    try {
      const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
      const build = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', outDir], { encoding: 'utf8' });
      assert.equal(build.status, 0, build.stdout + build.stderr);
      const run = spawnSync(process.execPath, [path.join(outDir, 'cli/main.js'), 'validate'], { cwd: ROOT, encoding: 'utf8', env: embeddedEnv() });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^ok: 2 entities/);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });

  it('schema prints the served SDL', async () => {
    const { code, stdout } = await runCli(['schema']);
    assert.equal(code, 0);
    assert.match(stdout, /type UserTxnStats \{/);
    assert.match(stdout, /registry: RegistryInfo!/);
  });
});
