/**
 * Property test: thousands of random entity rows against random history, historicalFeatures compared with
 * an independent oracle — a brute-force scan written directly from DESIGN.md's rule, sharing no code with
 * the SQL builder. Seeded, so a failure is reproducible (the seed is in the test name).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { postgresOfflineStore } from '../../src/stores/postgres/offline.ts';
import type { Stores } from '../../src/stores/open.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { loadFixtureRegistry } from '../helpers/repos.ts';
import { serviceUrl } from '../helpers/services.ts';
import { random } from '../helpers/random.ts';

interface HistoryRow {
  user: string;
  ev: number;
  cr: number;
  value: number;
}

/** DESIGN.md, verbatim: greatest (event, created) with T − ttl ≤ event ≤ T (and created ≤ T as known at T). */
function oracle(history: readonly HistoryRow[], user: string, t: number, ttlMs: number | undefined, asKnownAt: boolean): number | null {
  let best: HistoryRow | undefined;
  for (const r of history) {
    if (r.user !== user || r.ev > t) continue;
    if (ttlMs !== undefined && r.ev < t - ttlMs) continue;
    if (asKnownAt && r.cr > t) continue;
    // Rows come in write order: an exact tie on both timestamps goes to the later write.
    if (best === undefined || r.ev > best.ev || (r.ev === best.ev && r.cr >= best.cr)) best = r;
  }
  return best?.value ?? null;
}

const SEED = 20261121;
const BASE = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

function propertySuite(name: string, open: () => Promise<Stores>): void {
  describe(`historicalFeatures against a brute-force oracle: ${name}`, () => {
    let stores: Stores;
    let gateway: TestGateway;
    const rand = random(SEED);
    const run = `p${Date.now().toString(36)}`;
    const users = Array.from({ length: 40 }, (_, i) => `${run}-${i}`);
    const history = { stats_a: [] as HistoryRow[], stats_c: [] as HistoryRow[] };

    before(async () => {
      stores = await open();
      gateway = await startTestGateway(await loadFixtureRegistry(), stores, { maxPushRows: 10_000 });
      for (const view of ['stats_a', 'stats_c'] as const) {
        while (history[view].length < 3000) {
          const user = users[Math.floor(rand() * users.length)]!;
          // A narrow range of times (minutes over three hours) so equal event times, exact ties on both
          // timestamps, rows at the ttl bound and rows created after their event all occur often.
          const ev = BASE + Math.floor(rand() * 180) * 60_000;
          const cr = ev + Math.floor(rand() * 4) * 20 * 60_000;
          history[view].push({ user, ev, cr, value: history[view].length });
        }
        const rows = history[view].map((r) => ({ user_id: r.user, event_timestamp: r.ev, created_timestamp: r.cr, ...(view === 'stats_a' ? { a_int: r.value } : { c_score: r.value }) }));
        const { body } = await postGraphQL(gateway.base, 'mutation ($v: String!, $r: [JSON!]!) { pushFeatures(view: $v, rows: $r) { rows } }', { v: view, r: rows });
        assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      }
    });
    after(async () => {
      await gateway.close();
      await Promise.all([stores.online.close(), stores.offline.close()]);
    });

    for (const asKnownAt of [false, true]) {
      it(`matches the oracle on 4,000 random entity rows (seed ${SEED}, asKnownAt ${asKnownAt})`, async () => {
        const entities = Array.from({ length: 4000 }, () => ({
          user_id: rand() < 0.05 ? `${run}-unknown` : users[Math.floor(rand() * users.length)]!,
          // T from before the first row to well after the last: every boundary gets hit.
          event_timestamp: BASE - HOUR + Math.floor(rand() * 300) * 60_000 + (rand() < 0.1 ? 1 : 0),
        }));
        const { body } = await postGraphQL(gateway.base, 'query ($e: [JSON!], $k: Boolean) { historicalFeatures(features: ["stats_a:a_int", "stats_c:c_score"], entities: $e, asKnownAt: $k) { rows } }', {
          e: entities,
          k: asKnownAt,
        });
        assert.equal(body.errors, undefined, JSON.stringify(body.errors));
        const got = body.data!.historicalFeatures.rows as unknown[][];
        const expected = entities.map((e) => [oracle(history.stats_a, e.user_id, e.event_timestamp, HOUR, asKnownAt), oracle(history.stats_c, e.user_id, e.event_timestamp, undefined, asKnownAt)]);
        const mismatches = got.map((row, i) => ({ i, got: row.slice(2), want: expected[i] })).filter((m) => JSON.stringify(m.got) !== JSON.stringify(m.want));
        assert.deepEqual(mismatches.slice(0, 5), [], `${mismatches.length} of ${entities.length} rows differ`);
        assert.ok(expected.some(([a]) => a === null) && expected.some(([a]) => a !== null), 'the draw covers found and missing values');
      });
    }
  });
}

propertySuite('PGlite (embedded)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
propertySuite('PostgreSQL (real server)', async () => ({ online: new MemoryOnlineStore(), offline: postgresOfflineStore(serviceUrl('DATABASE_URL')) }));
