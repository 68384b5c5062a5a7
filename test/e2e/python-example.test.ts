/**
 * examples/python/train.py reads a training set into pandas the way a training job would, against a
 * gateway this test starts; its DataFrame must hold exactly what historicalFeatures answers, and the
 * Parquet file it writes must read back the same.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { Stores } from '../../src/stores/open.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { ROOT } from '../helpers/paths.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';

/**
 * Runs Python without blocking this process's event loop: the gateway it talks to lives in this process.
 * Resolves with the exit status and output, whatever the status.
 */
function runPython(python: string, args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(python, [...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('examples/python/train.py', () => {
  let python: string;
  let stores: Stores;
  let gateway: TestGateway;
  let dir: string;

  before(async () => {
    const env = spawnSync('bash', [path.join(ROOT, 'scripts/python-env.sh')], { encoding: 'utf8' });
    assert.equal(env.status, 0, env.stderr);
    python = env.stdout.trim();
    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    gateway = await startTestGateway(await loadFixtureRegistry(), stores);
    dir = await mkdtemp(path.join(tmpdir(), 'skewless-python-'));
  });
  after(async () => {
    await gateway.close();
    await Promise.all([stores.online.close(), stores.offline.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the same training set as historicalFeatures into pandas, and writes Parquet', async () => {
    const users = Array.from({ length: 20 }, () => randomUUID());
    const t = Date.UTC(2026, 5, 1, 12);
    const pushed = await postGraphQL(gateway.base, 'mutation ($r: [JSON!]!) { pushFeatures(view: "stats_a", rows: $r) { rows } }', {
      r: users.flatMap((u, i) => (i % 4 === 3 ? [] : [{ user_id: u, event_timestamp: t - i * 60_000, a_int: i, a_float: i % 2 === 0 ? i / 4 : null }])),
    });
    assert.equal(pushed.body.errors, undefined);
    const entities = users.map((u, i) => ({ user_id: u, event_timestamp: new Date(t + i * 1000).toISOString(), label: i % 2 }));
    await writeFile(path.join(dir, 'entities.jsonl'), entities.map((e) => JSON.stringify(e)).join('\n'));
    const parquet = path.join(dir, 'train.parquet');

    const { body } = await postGraphQL(gateway.base, 'query ($e: [JSON!]) { historicalFeatures(features: ["stats_a:a_int", "stats_a:a_float"], entities: $e) { columns rows } }', { e: entities });
    const frame = body.data!.historicalFeatures as { columns: string[]; rows: (number | string | null)[][] };
    const column = (name: string) => frame.rows.map((r) => r[frame.columns.indexOf(name)]);
    const sum = (values: unknown[]) => values.reduce<number>((s, v) => s + (typeof v === 'number' ? v : 0), 0);

    const summaries: Record<string, { dtypes: Record<string, string>; non_null: Record<string, number> }> = {};
    for (const format of ['parquet', 'jsonl']) {
      const out = format === 'parquet' ? ['--parquet', parquet] : [];
      const run = await runPython(python, [path.join(ROOT, 'examples/python/train.py'), '--gateway', gateway.base, '--format', format, '--features', 'stats_a:a_int,stats_a:a_float', '--entities', path.join(dir, 'entities.jsonl'), ...out, '--summary']);
      assert.equal(run.status, 0, run.stderr);
      const summary = JSON.parse(run.stdout) as { rows: number; columns: string[]; dtypes: Record<string, string>; non_null: Record<string, number>; sums: Record<string, number> };
      assert.equal(summary.rows, entities.length, format);
      assert.deepEqual(summary.columns, frame.columns, format);
      assert.equal(summary.non_null['stats_a:a_int'], column('stats_a:a_int').filter((v) => v !== null).length, format);
      assert.equal(summary.non_null['stats_a:a_float'], column('stats_a:a_float').filter((v) => v !== null).length, format);
      assert.equal(summary.sums['stats_a:a_int'], sum(column('stats_a:a_int')), format);
      assert.equal(summary.sums['stats_a:a_float'], sum(column('stats_a:a_float')), format);
      assert.equal(summary.sums.label, sum(column('label')), format);
      summaries[format] = summary;
    }
    // Parquet carries types: the timestamp arrives as a UTC datetime and the Int feature as a nullable
    // integer, where JSON lines leave pandas a string and a float.
    assert.equal(summaries.parquet!.dtypes.event_timestamp, 'datetime64[ms, UTC]');
    assert.equal(summaries.jsonl!.dtypes.event_timestamp, 'object');

    const readBack = await runPython(python, ['-c', `import pandas as pd; f = pd.read_parquet(${JSON.stringify(parquet)}); print(len(f), int(f["stats_a:a_int"].notna().sum()))`]);
    assert.equal(readBack.status, 0, readBack.stderr);
    assert.equal(readBack.stdout.trim(), `${entities.length} ${summaries.parquet!.non_null['stats_a:a_int']}`);
  });

  it('reports a refused export with its code and a non-zero exit', async () => {
    const run = await runPython(python, [path.join(ROOT, 'examples/python/train.py'), '--gateway', gateway.base, '--features', 'stats_a:a_int', '--entity-sql', 'delete from labels']);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /export refused: INVALID_ENTITY_SQL/);
  });
});
