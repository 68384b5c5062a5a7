/**
 * `skewless parity` as an operator runs it: against the offline store a gateway sampled into (PGlite kept
 * on disk here), it judges what has settled, prints the verdicts and the mismatches, and exits 3 when
 * online and offline disagreed; run again, nothing is left to judge. Misuse is refused with a code.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pushRows } from '../../src/ingest/push.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { ParitySampler } from '../../src/ops/parity/sampler.ts';
import { ensureParityTables } from '../../src/ops/parity/tables.ts';
import { loadRegistry } from '../../src/registry/load.ts';
import { createServingContext } from '../../src/serving/context.ts';
import { onlineFrame } from '../../src/serving/online-frame.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { embeddedEnv, runCli } from '../helpers/cli.ts';

const MIN = 60_000;

describe('skewless parity', () => {
  let dir: string;
  let args: string[];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'skewless-parity-cli-'));
    await mkdir(path.join(dir, 'schema'));
    await mkdir(path.join(dir, 'transforms'));
    await writeFile(path.join(dir, 'schema', 'stats.graphql'), 'type User @entity(key: ["user_id"]) { user_id: ID! }\ntype Stats @featureView(entity: "User") { n: Int label: String }\n');
    args = ['--schema', path.join(dir, 'schema'), '--transforms', path.join(dir, 'transforms'), '--pglite-dir', path.join(dir, 'pglite')];

    // A gateway's day, in this process: rows pushed, one online value overwritten, reads sampled.
    const loaded = await loadRegistry({ schemaDir: path.join(dir, 'schema'), transformsDir: path.join(dir, 'transforms') });
    assert.ok(loaded.ok);
    const registry = loaded.registry;
    const stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore(path.join(dir, 'pglite')) };
    await stores.offline.ensureSchema(registry);
    await ensureParityTables(stores.offline);
    const T = Date.now() - MIN;
    await pushRows(registry, stores, 'stats', [{ user_id: 'u1', event_timestamp: T - 5 * MIN, n: 3, label: 'x' }, { user_id: 'u2', event_timestamp: T - 5 * MIN, n: 4, label: 'y' }], { arrivalMs: T - 4 * MIN, maxRows: 10 });
    await stores.online.writeIfNewer([{ view: 'stats', entity: 'User', entityKey: 'u2', eventTs: T - 5 * MIN, createdTs: T - 4 * MIN, values: { n: 40, label: 'y' } }]);
    const sampler = new ParitySampler({ registry, offline: stores.offline, rate: 1, bufferSize: 100, metrics: createMetrics({ defaults: false }) });
    const ctx = createServingContext({ registry, stores, limits: { maxEntities: 10, maxPushRows: 10, maxHistoricalRows: 10, entitySqlTimeoutMs: 1000 }, now: () => T, parity: sampler });
    await onlineFrame(ctx, { features: ['stats'], entities: [{ user_id: 'u1' }, { user_id: 'u2' }] });
    await sampler.close();
    await stores.offline.close();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('judges the settled samples, names the mismatch with both values, and exits 3', async () => {
    const { code, stdout, stderr } = await runCli(['parity', ...args, '--parity-settle', '0s'], embeddedEnv());
    assert.equal(code, 3, stderr);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /^parity: judged 2 sample\(s\) taken up to \S+Z \(settle 0s\)$/);
    assert.equal(lines[1], '  MATCH 3  MISMATCH 1  MISSING_ONLINE 0  MISSING_OFFLINE 0  SKIPPED 0');
    assert.match(lines[2]!, /^ {2}stats:label {2,}MATCH 2$/);
    assert.match(lines[3]!, /^ {2}stats:n {2,}MATCH 1 {2}MISMATCH 1$/);
    assert.equal(lines[4], 'newest mismatches:');
    assert.match(lines[5]!, /^ {2}stats:n \{"user_id":"u2"\} at \S+Z: online 40, offline 4$/);
  });

  it('finds nothing left to judge on a second run, and exits 0', async () => {
    const { code, stdout } = await runCli(['parity', ...args, '--parity-settle', '0s'], embeddedEnv());
    assert.equal(code, 0);
    assert.match(stdout, /^parity: judged 0 sample\(s\)/);
    assert.match(stdout, /\n {2}MATCH 0 {2}MISMATCH 0 /);
    // The mismatch stays on record: the list is the store's, not this run's.
    assert.match(stdout, /newest mismatches:\n {2}stats:n \{"user_id":"u2"\}/);
  });

  it('refuses an offline store that would be empty, and a --since that is no time', async () => {
    const memory = await runCli(['parity', '--schema', path.join(dir, 'schema'), '--transforms', path.join(dir, 'transforms')], embeddedEnv());
    assert.equal(memory.code, 1);
    assert.match(memory.stderr, /NEEDS_STORES/);
    const since = await runCli(['parity', ...args, '--since', 'yesterday'], embeddedEnv());
    assert.equal(since.code, 2);
    assert.match(since.stderr, /--since must be a time or a duration, got "yesterday"/);
  });
});
