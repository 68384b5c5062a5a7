/**
 * Data quality as operators meet it: `skewless quality reference` and `quality stats` against PostgreSQL,
 * their refusals, and `skewless serve` publishing the quality gauges at /metrics once it has refreshed.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { pushRows } from '../../src/ingest/push.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import { embeddedEnv, runCli, startGateway } from '../helpers/cli.ts';
import { registryFromSdl } from '../helpers/repos.ts';
import { serviceUrl, uniqueName } from '../helpers/services.ts';

const MIN = 60_000;
const END = Date.UTC(2026, 4, 1, 0, 0, 0);

describe('skewless quality (CLI)', () => {
  const id = uniqueName('qcli');
  const view = `${id}_stats`;
  const sdl = `type User @entity(key: ["user_id"]) { user_id: ID! }
    type QCli${id} @featureView(entity: "User", name: "${view}") { score: Float label: String }`;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'skewless-quality-'));
    await mkdir(path.join(dir, 'schema'));
    await mkdir(path.join(dir, 'transforms'));
    await writeFile(path.join(dir, 'schema', 'views.graphql'), sdl);
    env = { ...embeddedEnv(), DATABASE_URL: serviceUrl('DATABASE_URL'), SKEWLESS_SCHEMA: path.join(dir, 'schema'), SKEWLESS_TRANSFORMS: path.join(dir, 'transforms') };
    // Scores 0…199 and fifty nulls, ten minutes before END.
    const registry = await registryFromSdl(sdl);
    const stores = { online: new MemoryOnlineStore(), offline: postgresOfflineStore(serviceUrl('DATABASE_URL')) };
    try {
      await stores.offline.ensureSchema(registry);
      const rows = Array.from({ length: 250 }, (_, i) => ({ user_id: `${id}-${i}`, event_timestamp: END - 10 * MIN, score: i < 200 ? i : null, label: i % 2 === 0 ? 'even' : 'odd' }));
      await pushRows(registry, stores, view, rows, { arrivalMs: END, maxRows: 1000 });
    } finally {
      await stores.offline.close();
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('quality reference captures a reference from a window; quality stats shows the window against it', async () => {
    const end = new Date(END).toISOString();
    const captured = await runCli(['quality', 'reference', `${view}:score`, '--window', '1h', '--end', end], env);
    assert.equal(captured.code, 0, captured.stderr);
    assert.equal(captured.stdout.trim(), `captured ${view}:score: 10 bins from 200 values of ${new Date(END - 60 * MIN).toISOString()} to ${end} (window 1h of history rows)`);

    const { code, stdout, stderr } = await runCli(['quality', 'stats', view, '--window', '1h', '--end', end], env);
    assert.equal(code, 0, stderr);
    const [score, label] = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual([score!.ref, score!.window, score!.count, score!.nulls, score!.nullRate], [`${view}:score`, '1h', 250, 50, 0.2]);
    assert.deepEqual([score!.numeric.min, score!.numeric.max, score!.numeric.mean], [0, 199, 99.5]);
    assert.deepEqual([score!.drift.psi, score!.drift.level, score!.drift.referenceOrigin], [0, 'STABLE', 'window']);
    assert.deepEqual([label!.ref, label!.distinct, label!.drift], [`${view}:label`, 2, null]);
  });

  it('refuses a missing action, an unknown view, too few values and an offline store that vanishes at exit', async () => {
    const usage = await runCli(['quality'], env);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /quality needs stats or reference/);

    const unknown = await runCli(['quality', 'stats', `${view}x`], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown feature view .*\(UNKNOWN_VIEW\)/);

    const empty = await runCli(['quality', 'reference', view, '--window', '1h', '--end', String(END - 30 * MIN)], env);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, new RegExp(`skipped ${view}:score: 0 values in the window, a reference needs at least 100`));

    const memory = await runCli(['quality', 'stats'], { ...env, DATABASE_URL: '' });
    assert.equal(memory.code, 1);
    assert.match(memory.stderr, /NEEDS_STORES/);
  });

  it('serve refreshes the quality gauges when it starts and shows them at /metrics', async () => {
    const gateway = await startGateway(['--quality-windows', '1h'], { ...embeddedEnv(), SKEWLESS_SCHEMA: path.join(dir, 'schema'), SKEWLESS_TRANSFORMS: path.join(dir, 'transforms') });
    try {
      // The first refresh runs just after listening; wait for its gauges, bounded only to fail a broken run.
      const deadline = Date.now() + 30_000;
      // An unset gauge without labels reads 0.
      const refreshedAt = (text: string) => Number(/^skewless_quality_refresh_timestamp_seconds (\S+)$/m.exec(text)?.[1] ?? 0);
      let body = await (await fetch(`${gateway.base}/metrics`)).text();
      while (refreshedAt(body) === 0) {
        assert.ok(Date.now() < deadline, `no refresh reported at /metrics:\n${body}`);
        await delay(50);
        body = await (await fetch(`${gateway.base}/metrics`)).text();
      }
      // An empty embedded store: zero values, so no null rate or mean to report.
      assert.match(body, new RegExp(`^skewless_feature_values\\{view="${view}",feature="score",window="1h"\\} 0$`, 'm'));
      assert.doesNotMatch(body, new RegExp(`skewless_feature_null_rate\\{view="${view}"`));
    } finally {
      await gateway.stop();
    }
  });
});
