import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkReadiness } from '../../../src/ops/health.ts';
import { createLogger } from '../../../src/ops/log.ts';
import type { Store } from '../../../src/stores/types.ts';

const store = (kind: string, ping: () => Promise<void>): Store => ({ kind, ping, close: async () => {} });

describe('readiness', () => {
  it('is ready when every store answers', async () => {
    const report = await checkReadiness({ a: store('memory', async () => {}), b: store('pglite', async () => {}) });
    assert.deepEqual(report, { ready: true, checks: { a: { ok: true, kind: 'memory' }, b: { ok: true, kind: 'pglite' } } });
  });

  it('names the store that fails and why, and still checks the others', async () => {
    const report = await checkReadiness({
      online: store('redis', async () => {
        throw new Error('Redis is not connected (status reconnecting)');
      }),
      offline: store('postgres', async () => {}),
    });
    assert.equal(report.ready, false);
    assert.deepEqual(report.checks.online, { ok: false, kind: 'redis', error: 'Redis is not connected (status reconnecting)' });
    assert.deepEqual(report.checks.offline, { ok: true, kind: 'postgres' });
  });

  it('answers not-ready instead of hanging on a store that never answers', async () => {
    const report = await checkReadiness({ online: store('redis', () => new Promise(() => {})) }, 20);
    assert.equal(report.ready, false);
    assert.match(report.checks.online?.error ?? '', /did not answer within 20 ms/);
  });
});

describe('logger', () => {
  it('writes JSON lines at or above its level', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (line) => lines.push(line));
    log.info('hidden');
    log.warn('shown', { view: 'user_txn_stats' });
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(entry.level, 'warn');
    assert.equal(entry.msg, 'shown');
    assert.equal(entry.view, 'user_txn_stats');
    assert.match(String(entry.time), /^\d{4}-\d{2}-\d{2}T.*Z$/);
  });
});
