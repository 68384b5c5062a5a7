/**
 * The reconciliation loop `skewless serve` runs: a failing pass is logged and the next one runs; tables
 * that could not be made at start-up are made by a later pass, which then judges what was sampled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../../src/ops/log.ts';
import { createMetrics } from '../../../../src/ops/metrics.ts';
import { startParityLoop } from '../../../../src/ops/parity/loop.ts';
import { startParity } from '../../../../src/ops/parity/start.ts';
import { MemoryOnlineStore } from '../../../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../../../src/stores/pglite/offline.ts';
import type { OfflineStore } from '../../../../src/stores/types.ts';
import { registryFromSdl } from '../../../helpers/repos.ts';

const SDL = `type User @entity(key: ["user_id"]) { user_id: ID! } type Stats @featureView(entity: "User") { a: Int }`;

/** A logger whose lines can be waited for, by message and a test on their fields. */
function watchedLogger() {
  const lines: Record<string, unknown>[] = [];
  const waiters: { test: (line: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  const logger = createLogger('debug', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const w of [...waiters]) {
      if (!w.test(line)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const next = (test: (line: Record<string, unknown>) => boolean) => new Promise<void>((resolve) => waiters.push({ test, resolve }));
  return { lines, logger, next };
}

/**
 * The loop's timer does not keep a process alive (a gateway exits when its server closes); while a test
 * waits for a pass, this does. It synchronises nothing: the waits are on log lines.
 */
async function keptAlive<T>(fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 60_000);
  // A test that times out never reaches the finally below: this lets its process end anyway.
  setTimeout(() => clearInterval(timer), 90_000).unref();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

describe('parity reconciliation loop', () => {
  // The timeouts only fail a broken run: every wait is on a log line.
  it('logs a failed pass and runs the next one: a store that is down never takes the gateway with it', { timeout: 30_000 }, () => keptAlive(async () => {
    const registry = await registryFromSdl(SDL);
    const down = async () => {
      throw new Error('connection refused');
    };
    const offline = { query: down, transaction: down } as unknown as OfflineStore;
    const { lines, logger, next } = watchedLogger();
    let failures = 0;
    const twice = next((l) => l.msg === 'parity.reconcile_failed' && ++failures === 2);
    const loop = startParityLoop({ registry, stores: { online: new MemoryOnlineStore(), offline }, transforms: undefined }, { intervalMs: 5, settleMs: 0, retentionMs: 0, logger });
    assert.ok(loop);
    await twice;
    await loop.stop();
    assert.deepEqual(lines.slice(0, 2).map((l) => [l.level, l.msg, l.error]), [
      ['warn', 'parity.reconcile_failed', 'connection refused'],
      ['warn', 'parity.reconcile_failed', 'connection refused'],
    ]);
  }));

  it('is off at interval 0', async () => {
    const registry = await registryFromSdl(SDL);
    const offline = await pgliteOfflineStore();
    assert.equal(startParityLoop({ registry, stores: { online: new MemoryOnlineStore(), offline }, transforms: undefined }, { intervalMs: 0, settleMs: 0, retentionMs: 0, logger: createLogger('error') }), undefined);
    await offline.close();
  });

  it('makes the tables once the offline store answers, then judges what was sampled', { timeout: 60_000 }, () => keptAlive(async () => {
    const registry = await registryFromSdl(SDL);
    const real = await pgliteOfflineStore();
    await real.ensureSchema(registry);
    let isDown = true;
    const guard = <T,>(fn: () => Promise<T>) => (isDown ? Promise.reject(new Error('connection refused')) : fn());
    const offline: OfflineStore = {
      kind: real.kind,
      ensureSchema: (r) => guard(() => real.ensureSchema(r)),
      appendHistory: (view, rows) => guard(() => real.appendHistory(view, rows)),
      asOfJoin: (plan, entities) => guard(() => real.asOfJoin(plan, entities)),
      asOfJoinEach: (plan, entities, size, onBatch) => guard(() => real.asOfJoinEach(plan, entities, size, onBatch)),
      transaction: (fn) => guard(() => real.transaction(fn)),
      query: (sql, params) => guard(() => real.query(sql, params)),
      ping: () => guard(() => real.ping()),
      close: () => real.close(),
    };
    const online = new MemoryOnlineStore();
    const { lines, logger, next } = watchedLogger();
    const config = { paritySampleRate: 1, parityBuffer: 100, parityIntervalMs: 5, paritySettleMs: 0, parityRetentionMs: 0 };
    const parity = await startParity(config, { registry, stores: { online, offline }, transforms: undefined, metrics: createMetrics({ defaults: false }), logger });
    assert.equal(lines[0]?.msg, 'parity.tables_unavailable');
    assert.ok(parity.sampler);

    const firstPass = next((l) => l.msg === 'parity.reconciled');
    isDown = false;
    await firstPass;
    // Waited for before the sample exists: the loop may judge it as soon as it is written, even before flush() returns.
    const judged = next((l) => l.msg === 'parity.reconciled' && l.samples === 1);
    const T = Date.now() - 1000;
    await online.writeIfNewer([{ view: 'stats', entity: 'User', entityKey: 'u1', eventTs: T - 1000, createdTs: T - 1000, values: { a: 7 } }]);
    await parity.sampler.begin(T)!.observe(online)([{ view: 'stats', entity: 'User', entityKey: 'u1' }]);
    await parity.sampler.flush();
    await judged;
    await parity.close();
    // The row was never appended to history: online served what offline does not have.
    const verdicts = await real.query<{ feature: string; outcome: string }>('select feature, outcome from skewless.parity_results');
    assert.deepEqual(verdicts, [{ feature: 'a', outcome: 'MISSING_OFFLINE' }]);
    await real.close();
  }));
});
