/**
 * The dashboard end to end (issue 7): a gateway on embedded stores serving the example repository with a
 * shortened demo month, plus two pushed views of the test's own that declare a freshness (one stale, one
 * fresh, with other owners and tags); online answers sampled at rate 1 and reconciled, one of them
 * corrupted so parity has a mismatch to show; drift references captured for two views and not for the
 * others. /dashboard opened in headless Chromium must show exactly what the same GraphQL queries answer.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { seedDemo } from '../../src/demo/seed.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { checkRows, pushRows } from '../../src/ingest/push.ts';
import { FreshnessMonitor } from '../../src/ops/freshness-monitor.ts';
import { createLogger } from '../../src/ops/log.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { reconcileParity } from '../../src/ops/parity/reconcile.ts';
import { ParitySampler } from '../../src/ops/parity/sampler.ts';
import { ensureParityTables } from '../../src/ops/parity/tables.ts';
import { captureWindowReferences } from '../../src/ops/quality/capture.ts';
import { DEFAULT_QUALITY_OPTIONS } from '../../src/ops/quality/options.ts';
import { loadRegistry } from '../../src/registry/load.ts';
import type { Registry } from '../../src/registry/registry.ts';
import type { RowView } from '../../src/registry/types.ts';
import { createGateway } from '../../src/server/gateway.ts';
import type { Gateway } from '../../src/server/gateway.ts';
import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import type { Stores } from '../../src/stores/open.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import type { TransformPool } from '../../src/transforms/pool.ts';
import { startTransforms } from '../../src/transforms/start.ts';
import { launchChromium, watchProblems } from '../helpers/browser.ts';
import { postGraphQL } from '../helpers/cli.ts';
import { EXAMPLE_DIRS } from '../helpers/paths.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const SETTLE = MIN;
const KINDS = ['phone', 'laptop', 'tablet'];

const EXTRA_SDL = `
"Device signals pushed by the device-intelligence job, hourly."
type DeviceRisk @featureView(entity: "User", freshness: "1h", owner: "risk-team", tags: ["device", "experimental"]) {
  "Risk score of the user's newest device."
  device_score: Float
  "Kind of the user's newest device."
  device_kind: String
}

"Account flags from the KYC service, daily."
type AccountFlags @featureView(entity: "User", freshness: "1d", owner: "kyc-team", tags: ["compliance"]) {
  "Days since the account was opened."
  account_age_days: Int
  "Whether the account passed KYC."
  verified: Boolean
}
`;

const REGISTRY = '{ registry { views { name kind owner tags features { name ref type description } } } }';
const FRESHNESS = '{ freshness { checkedAt views { view ageSeconds expectedFreshness stale } } }';
const COUNTS = 'match mismatch missingOnline missingOffline skipped';
const PARITY = `{ parityReport(limit: 20) { pending totals { ${COUNTS} } features { view feature counts { ${COUNTS} } } mismatches { view feature keys onlineValue offlineValue } } }`;
const STATS = 'query ($end: DateTime) { featureStats(end: $end) { view feature type window to count nullRate drift { psi level } } }';

interface RegistryView {
  name: string;
  kind: string;
  owner: string | null;
  tags: string[];
  features: { name: string; ref: string; type: string; description: string | null }[];
}
interface Counts {
  match: number;
  mismatch: number;
  missingOnline: number;
  missingOffline: number;
  skipped: number;
}
interface Stats {
  view: string;
  feature: string;
  type: string;
  window: string;
  to: string;
  count: number;
  nullRate: number | null;
  drift: { psi: number | null; level: string | null } | null;
}

/** A figure as the page shows it: its raw value (data-value) and its text. */
interface Figure {
  value: string | null;
  text: string;
}
interface ShownView {
  view: string;
  kind: string;
  freshness: { empty: string | null; error: string | null; age: Figure | null; expected: Figure | null; stale: Figure | null };
  parity: { empty: string | null; error: string | null; match: Figure | null; mismatch: Figure | null; missing: Figure | null; skipped: Figure | null; mismatches: { feature: string; online: string; offline: string }[] };
  quality: {
    empty: string | null;
    error: string | null;
    window: string | null;
    to: string | null;
    rows: Record<string, { values: Figure | null; nullRate: Figure | null; psi: Figure | null; level: Figure | null; empties: string[] }>;
  };
}

/** Reads every view card off the page by its data-* attributes, not by layout. */
function readViews(page: Page): Promise<ShownView[]> {
  return page.evaluate(() => {
    const figure = (scope: Element | null, name: string) => {
      const e = scope?.querySelector(`[data-field="${name}"]`);
      return e == null ? null : { value: e.getAttribute('data-value'), text: e.textContent ?? '' };
    };
    const state = (scope: Element | null, attr: string) => scope?.querySelector(`[${attr}]`)?.getAttribute(attr) ?? null;
    return [...document.querySelectorAll('article[data-view]')].map((card) => {
      const block = (name: string) => card.querySelector(`[data-block="${name}"]`);
      const [fresh, parity, quality] = [block('freshness'), block('parity'), block('quality')];
      const rows: Record<string, unknown> = {};
      for (const row of quality?.querySelectorAll('tr[data-feature]') ?? []) {
        rows[row.getAttribute('data-feature')!] = {
          values: figure(row, 'values'),
          nullRate: figure(row, 'null-rate'),
          psi: figure(row, 'psi'),
          level: figure(row, 'drift-level'),
          empties: [...row.querySelectorAll('[data-empty]')].map((e) => e.getAttribute('data-empty')),
        };
      }
      return {
        view: card.getAttribute('data-view')!,
        kind: card.getAttribute('data-kind')!,
        freshness: { empty: state(fresh, 'data-empty'), error: state(fresh, 'data-error'), age: figure(fresh, 'age'), expected: figure(fresh, 'expected-freshness'), stale: figure(fresh, 'stale') },
        parity: {
          empty: state(parity, 'data-empty'),
          error: state(parity, 'data-error'),
          match: figure(parity, 'parity-match'),
          mismatch: figure(parity, 'parity-mismatch'),
          missing: figure(parity, 'parity-missing'),
          skipped: figure(parity, 'parity-skipped'),
          mismatches: [...(parity?.querySelectorAll('[data-mismatch]') ?? [])].map((li) => ({
            feature: li.getAttribute('data-feature')!,
            online: li.querySelector('[data-field="online-value"]')!.textContent!,
            offline: li.querySelector('[data-field="offline-value"]')!.textContent!,
          })),
        },
        quality: { empty: quality?.querySelector(':scope > [data-empty]')?.getAttribute('data-empty') ?? null, error: state(quality, 'data-error'), window: quality?.getAttribute('data-window') ?? null, to: quality?.getAttribute('data-to') ?? null, rows },
      } as unknown as ShownView;
    });
  });
}

interface CatalogRow {
  ref: string;
  view: string;
  type: string;
  description: string;
  owner: string;
  tags: string[];
}

function readCatalog(page: Page): Promise<{ rows: CatalogRow[]; shown: string | null; emptyVisible: boolean }> {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll('#catalog-rows tr[data-ref]')].map((tr) => {
      const text = (name: string) => tr.querySelector(`[data-field="${name}"]`)!.textContent!;
      return { ref: tr.getAttribute('data-ref')!, view: text('view'), type: text('type'), description: text('description'), owner: text('owner'), tags: [...tr.querySelectorAll('[data-field="tags"] .tag')].map((t) => t.textContent!) };
    });
    const shown = document.querySelector('[data-field="catalog-shown"]')?.getAttribute('data-value') ?? null;
    return { rows, shown, emptyVisible: !(document.querySelector('[data-empty="catalog"]') as HTMLElement).hidden };
  });
}

const pageState = (page: Page) => page.$eval('#dashboard', (e) => ({ state: e.getAttribute('data-state'), loads: Number(e.getAttribute('data-loads')) }));

/** Waits until the page has finished `loads` refreshes in all (the attribute the page sets last). */
async function loaded(page: Page, loads = 1, state = 'ready'): Promise<void> {
  await page.waitForFunction((n: number) => Number(document.getElementById('dashboard')!.getAttribute('data-loads')) >= n, {}, loads);
  assert.deepEqual(await pageState(page), { state, loads });
}

/** Seconds a displayed age stands for, and the half step of its last digit: "3.1 h" is 3.1 h ± 0.05 h. */
function parseAge(text: string): { seconds: number; tolerance: number } {
  const match = /^(\d+(?:\.(\d))?) (s|min|h|d)$/.exec(text);
  assert.ok(match, `an age like "42 s" or "3.1 h": "${text}"`);
  const unit = { s: 1, min: 60, h: 3600, d: 86_400 }[match[3] as 's' | 'min' | 'h' | 'd'];
  const step = match[2] === undefined ? 1 : 0.1;
  return { seconds: Number(match[1]) * unit, tolerance: (step / 2) * unit };
}

const sumCounts = (list: readonly Counts[]): Counts =>
  list.reduce((a, c) => ({ match: a.match + c.match, mismatch: a.mismatch + c.mismatch, missingOnline: a.missingOnline + c.missingOnline, missingOffline: a.missingOffline + c.missingOffline, skipped: a.skipped + c.skipped }), {
    match: 0,
    mismatch: 0,
    missingOnline: 0,
    missingOffline: 0,
    skipped: 0,
  });

/** The catalog's search rule, written out independently: name (view:feature), owner or tag contains the query, any case. */
const searched = (features: readonly (CatalogRow & { name: string })[], query: string) => {
  const q = query.trim().toLowerCase();
  return features.filter((f) => q === '' || f.ref.toLowerCase().includes(q) || f.owner.toLowerCase().includes(q) || f.tags.some((t) => t.toLowerCase().includes(q)));
};

describe('the dashboard in headless Chromium (embedded stores, example repository)', () => {
  let browser: Browser;
  let dir: string;
  let registry: Registry;
  let stores: Stores;
  let transforms: TransformPool | undefined;
  let sampler: ParitySampler;
  let gateway: Gateway;
  let base: string;
  let page: Page;
  let problems: string[];
  // The freshness monitor's clock stands still at T0, so the page and the test read the same ages.
  let T0: number;
  let pushedAt: number;

  const api = async <T>(query: string, variables?: Record<string, unknown>): Promise<T> => {
    const { body } = await postGraphQL(base, query, variables);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data as T;
  };
  const push = (view: string, rows: Record<string, unknown>[], arrivalMs: number) => pushRows(registry, stores, view, rows, { arrivalMs, maxRows: 10_000 });

  before(async () => {
    // First: on a machine without Chromium this fails at once, saying how to install it.
    browser = await launchChromium();
    dir = await mkdtemp(path.join(tmpdir(), 'skewless-dashboard-'));
    const schemaDir = path.join(dir, 'schema');
    await mkdir(schemaDir);
    for (const file of await readdir(EXAMPLE_DIRS.schemaDir)) await copyFile(path.join(EXAMPLE_DIRS.schemaDir, file), path.join(schemaDir, file));
    await writeFile(path.join(schemaDir, 'dashboard-test.graphql'), EXTRA_SDL);
    const loaded = await loadRegistry({ schemaDir, transformsDir: EXAMPLE_DIRS.transformsDir });
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    registry = loaded.registry;

    stores = { online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() };
    await stores.offline.ensureSchema(registry);
    await ensureParityTables(stores.offline);
    // A fifth of the demo's month is plenty for every chart and keeps the seeding short.
    const seeded = await seedDemo(registry, stores, { shape: { transactions: 3000 } });
    assert.ok(seeded.seeded, JSON.stringify(seeded));

    pushedAt = Date.now();
    // 200 devices three hours old (stale against their 1h freshness), every fifth score null.
    await push(
      'device_risk',
      Array.from({ length: 200 }, (_, i) => ({ user_id: `u${i + 1}`, event_timestamp: pushedAt - 3 * HOUR, device_score: i % 5 === 0 ? null : ((i * 37) % 101) / 100, device_kind: KINDS[i % 3] })),
      pushedAt - 3 * HOUR + MIN,
    );
    // 150 accounts two hours old (fresh against 1d), every seventh verified flag null.
    await push(
      'account_flags',
      Array.from({ length: 150 }, (_, i) => ({ user_id: `u${i + 1}`, event_timestamp: pushedAt - 2 * HOUR, account_age_days: (i * 13) % 900, verified: i % 7 === 0 ? null : i % 2 === 0 })),
      pushedAt - 2 * HOUR + MIN,
    );
    // Drift references for two views from their 7-day window; the aggregation views get none.
    const quality = { registry, offline: stores.offline, options: DEFAULT_QUALITY_OPTIONS, now: pushedAt };
    for (const view of ['device_risk', 'user_txn_stats']) assert.ok((await captureWindowReferences(quality, { view })).captured.length > 0, view);

    transforms = await startTransforms(registry);
    const metrics = createMetrics({ defaults: false });
    sampler = new ParitySampler({ registry, offline: stores.offline, rate: 1, bufferSize: 10_000, metrics });
    T0 = Date.now();
    const freshness = new FreshnessMonitor(registry, stores.offline, { intervalMs: HOUR, now: () => T0 });
    gateway = createGateway({
      registry,
      schema: buildSchema(registry),
      stores,
      limits: { maxEntities: 1000, maxPushRows: 10_000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000 },
      logger: createLogger('error', () => {}),
      transforms,
      freshness,
      parity: sampler,
      metrics,
    });
    base = (await gateway.listen(0, '127.0.0.1')).replace(/\/graphql$/, '');
    await gateway.freshness.refresh();

    // Something for each parity outcome to show: u2's device score overwritten in the online store (same
    // timestamps), a MISMATCH; an online device record for u201 that history never had, MISSING_OFFLINE
    // for both features; an account row for u250 in history only, MISSING_ONLINE for both.
    const created = pushedAt - 3 * HOUR + MIN;
    await stores.online.writeIfNewer([
      { view: 'device_risk', entity: 'User', entityKey: 'u2', eventTs: pushedAt - 3 * HOUR, createdTs: created, values: { device_score: 0.999, device_kind: KINDS[1] } },
      { view: 'device_risk', entity: 'User', entityKey: 'u201', eventTs: pushedAt - 3 * HOUR, createdTs: created, values: { device_score: 0.5, device_kind: 'phone' } },
    ]);
    const accounts = registry.view('account_flags') as RowView;
    await stores.offline.appendHistory(accounts, checkRows(registry, accounts, [{ user_id: 'u250', event_timestamp: pushedAt - 2 * HOUR, account_age_days: 5, verified: true }], { arrivalMs: pushedAt - 2 * HOUR }));
    const users = Array.from({ length: 10 }, (_, i) => `u${i + 1}`);
    await api('query ($e: [JSON!]!, $r: [JSON!]) { onlineFeatures(service: "fraud_model_v1", entities: $e, request: $r) { rows } }', {
      e: users.map((u, i) => ({ user_id: u, merchant_id: `m${i + 1}` })),
      r: users.map((_, i) => ({ amount: 20 + 7 * i })),
    });
    await api('query ($e: [JSON!]!) { onlineFeatures(features: ["device_risk", "account_flags"], entities: $e) { rows } }', { e: [...users, 'u201', 'u250'].map((u) => ({ user_id: u })) });
    await sampler.flush();
    const judged = await reconcileParity({ registry, stores, transforms }, { now: Date.now() + SETTLE, settleMs: SETTLE });
    assert.deepEqual([judged.totals.MISMATCH, judged.totals.MISSING_OFFLINE, judged.totals.MISSING_ONLINE], [1, 2, 2], JSON.stringify(judged.totals));

    page = await browser.newPage();
    problems = watchProblems(page);
    await page.setViewport({ width: 1280, height: 1000 });
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    await sampler?.close();
    await transforms?.close();
    if (stores !== undefined) await Promise.all([stores.online.close(), stores.offline.close()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('loads from the gateway under a strict Content-Security-Policy and says when it is ready', async () => {
    // No timer refresh during the suite, however slow the machine: this page refreshes when the tests say.
    const response = await page.goto(`${base}/dashboard?refresh=3600`);
    assert.equal(response?.status(), 200);
    assert.match(response!.headers()['content-security-policy']!, /script-src 'self'/);
    await loaded(page);
    assert.deepEqual(await page.$$eval('script', (scripts) => scripts.map((s) => s.getAttribute('src'))), ['dashboard/app.js'], 'no inline script');
    assert.equal(await page.$eval('#errors', (e) => e.children.length), 0);
  });

  it("lists every view of the registry, with each stored view's age, declared freshness and stale flag as Query.freshness gives them", async () => {
    const { registry: info } = await api<{ registry: { views: RegistryView[] } }>(REGISTRY);
    const { freshness } = await api<{ freshness: { checkedAt: string | null; views: { view: string; ageSeconds: number | null; expectedFreshness: string | null; stale: boolean }[] } }>(FRESHNESS);
    assert.notEqual(freshness.checkedAt, null);
    const shown = await readViews(page);
    assert.deepEqual(
      shown.map((v) => [v.view, v.kind]),
      info.views.map((v) => [v.name, v.kind]),
    );
    for (const view of shown) {
      if (view.kind === 'ON_DEMAND') {
        assert.equal(view.freshness.empty, 'freshness', view.view);
        continue;
      }
      const expected = freshness.views.find((f) => f.view === view.view)!;
      assert.ok(expected.ageSeconds !== null, view.view);
      assert.equal(view.freshness.age!.value, String(expected.ageSeconds), view.view);
      const age = parseAge(view.freshness.age!.text);
      assert.ok(Math.abs(age.seconds - expected.ageSeconds) <= age.tolerance, `${view.view}: ${view.freshness.age!.text} for ${expected.ageSeconds} s`);
      assert.equal(view.freshness.expected!.value, expected.expectedFreshness ?? '', view.view);
      assert.equal(view.freshness.stale!.value, String(expected.stale), view.view);
    }
    // The scenario is what it was built to be: the comparisons above covered a stale and a fresh view.
    const stale = Object.fromEntries(shown.filter((v) => v.freshness.stale !== null).map((v) => [v.view, v.freshness.stale!.value]));
    assert.equal(stale.device_risk, 'true');
    assert.equal(stale.account_flags, 'false');
  });

  it("shows each view's parity counts and newest mismatches as Query.parityReport gives them", async () => {
    const { parityReport: report } = await api<{ parityReport: { pending: number; totals: Counts; features: { view: string; counts: Counts }[]; mismatches: { view: string; feature: string; onlineValue: unknown; offlineValue: unknown }[] } }>(PARITY);
    const shown = await readViews(page);
    for (const view of shown) {
      const features = report.features.filter((f) => f.view === view.view);
      if (features.length === 0) {
        assert.equal(view.parity.empty, 'parity', view.view);
        continue;
      }
      const sum = sumCounts(features.map((f) => f.counts));
      assert.deepEqual(
        [view.parity.match!.value, view.parity.mismatch!.value, view.parity.missing!.value, view.parity.skipped!.value],
        [sum.match, sum.mismatch, sum.missingOnline + sum.missingOffline, sum.skipped].map(String),
        view.view,
      );
      assert.deepEqual(
        view.parity.mismatches,
        report.mismatches.filter((m) => m.view === view.view).map((m) => ({ feature: m.feature, online: JSON.stringify(m.onlineValue), offline: JSON.stringify(m.offlineValue) })),
        view.view,
      );
    }
    const verdicts = await page.$eval('[data-field="parity-verdicts"]', (e) => e.getAttribute('data-value'));
    const t = report.totals;
    assert.equal(verdicts, String(t.match + t.mismatch + t.missingOnline + t.missingOffline + t.skipped));
    assert.equal(await page.$eval('[data-field="parity-pending"]', (e) => e.getAttribute('data-value')), String(report.pending));
    // Every sampled view was judged, and the corrupted value is the one mismatch shown.
    const byView = Object.fromEntries(shown.map((v) => [v.view, v.parity]));
    for (const name of ['user_txn_stats', 'user_txn_windows', 'merchant_baseline', 'txn_signals', 'device_risk', 'account_flags']) assert.equal(byView[name]!.empty, null, name);
    assert.deepEqual(byView.device_risk!.mismatches.map((m) => [m.feature, m.online]), [['device_score', '0.999']]);
    assert.deepEqual([byView.device_risk!.missing!.value, byView.account_flags!.missing!.value], ['2', '2'], 'missing offline and missing online both counted');
  });

  it('shows null rates and PSI per feature and window as Query.featureStats gives them at the same instant', async () => {
    const shown = (await readViews(page)).filter((v) => v.kind !== 'ON_DEMAND');
    const to = shown[0]!.quality.to;
    assert.ok(to !== null);
    assert.deepEqual(new Set(shown.map((v) => v.quality.to)), new Set([to]), 'every view from one featureStats answer');
    const { featureStats } = await api<{ featureStats: Stats[] }>(STATS, { end: to });
    assert.ok(featureStats.every((s) => s.to === to));
    const windows = [...new Set(featureStats.map((s) => s.window))];
    assert.deepEqual(await page.$$eval('[data-window]:is(button)', (buttons) => buttons.map((b) => b.textContent)), windows);

    const compare = (views: ShownView[], window: string) => {
      for (const view of views) {
        assert.equal(view.quality.window, window, view.view);
        const rows = featureStats.filter((s) => s.view === view.view && s.window === window);
        assert.deepEqual(Object.keys(view.quality.rows), rows.map((s) => s.feature), view.view);
        for (const stats of rows) {
          const row = view.quality.rows[stats.feature]!;
          const what = `${stats.view}:${stats.feature} over ${window}`;
          assert.equal(row.values!.value, String(stats.count), what);
          if (stats.nullRate === null) assert.ok(row.empties.includes('values') && row.nullRate === null, what);
          else assert.deepEqual(row.nullRate, { value: String(stats.nullRate), text: `${(stats.nullRate * 100).toFixed(1)}%` }, what);
          if (!/^(Int|Float)!?$/.test(stats.type)) assert.ok(row.empties.includes('not-numeric') && row.psi === null, what);
          else if (stats.drift === null) assert.ok(row.empties.includes('reference') && row.psi === null, what);
          else if (stats.drift.psi === null) assert.ok(row.empties.includes('values') && row.psi === null, what);
          else {
            assert.deepEqual(row.psi, { value: String(stats.drift.psi), text: stats.drift.psi.toFixed(3) }, what);
            assert.equal(row.level!.value, stats.drift.level, what);
          }
        }
      }
    };
    // The longest window first: the one references are captured from by default.
    compare(shown, '7d');
    const rows = Object.fromEntries(shown.map((v) => [v.view, v.quality.rows]));
    assert.ok(Number(rows.device_risk!.device_score!.nullRate!.value) > 0, 'a null rate to show');
    assert.equal(rows.device_risk!.device_score!.level!.value, 'STABLE', 'PSI against a reference of the same rows');
    assert.ok(rows.merchant_baseline!.avg_tx_amount!.empties.includes('reference'), 'no reference captured for aggregation views');
    for (const window of windows.filter((w) => w !== '7d')) {
      await page.click(`button[data-window="${window}"]`);
      compare((await readViews(page)).filter((v) => v.kind !== 'ON_DEMAND'), window);
    }
    await page.click('button[data-window="7d"]');
  });

  it('lists every feature in the catalog with its view, type, description, owner and tags', async () => {
    const { registry: info } = await api<{ registry: { views: RegistryView[] } }>(REGISTRY);
    const expected = info.views.flatMap((v) => v.features.map((f) => ({ ref: f.ref, view: v.name, type: f.type, description: f.description ?? '', owner: v.owner ?? '', tags: v.tags })));
    const catalog = await readCatalog(page);
    assert.deepEqual(catalog.rows, expected);
    assert.equal(catalog.shown, String(expected.length));
    assert.equal(catalog.emptyVisible, false);
  });

  it('filters the catalog by name, owner or tag as typed, as the registry filtered the same way', async () => {
    const { registry: info } = await api<{ registry: { views: RegistryView[] } }>(REGISTRY);
    const all = info.views.flatMap((v) => v.features.map((f) => ({ name: f.name, ref: f.ref, view: v.name, type: f.type, description: f.description ?? '', owner: v.owner ?? '', tags: v.tags })));
    const search = await page.$('#catalog-search');
    for (const query of ['risk-team', 'EXPERIMENTAL', 'amount', 'stream', 'kyc', 'no-such-feature', '']) {
      await search!.click({ count: 3 });
      await page.keyboard.press('Backspace');
      if (query !== '') await search!.type(query);
      const catalog = await readCatalog(page);
      const wanted = searched(all, query);
      assert.deepEqual(catalog.rows.map((r) => r.ref), wanted.map((f) => f.ref), `search "${query}"`);
      assert.equal(catalog.shown, String(wanted.length), query);
      assert.equal(catalog.emptyVisible, wanted.length === 0, query);
    }
    // The searches above did narrow the list each way (owner, tag, name) and matched nothing once.
    assert.deepEqual(searched(all, 'risk-team').map((f) => f.view), ['device_risk', 'device_risk']);
    assert.deepEqual(new Set(searched(all, 'experimental').map((f) => f.view)), new Set(['device_risk']));
    assert.equal(searched(all, 'no-such-feature').length, 0);
  });

  it('shows what changed after the refresh button is pressed', async () => {
    const { loads } = await pageState(page);
    const before = (await readViews(page)).find((v) => v.view === 'device_risk')!;
    // A new device row ten minutes old makes device_risk fresh once freshness is read again.
    await push('device_risk', [{ user_id: 'u999', event_timestamp: T0 - 10 * MIN, device_score: 0.5, device_kind: 'phone' }], T0 - 9 * MIN);
    await gateway.freshness.refresh();
    await page.click('[data-action="refresh"]');
    await loaded(page, loads + 1);
    const device = (await readViews(page)).find((v) => v.view === 'device_risk')!;
    assert.deepEqual(device.freshness.stale, { value: 'false', text: 'fresh' });
    assert.equal(device.freshness.age!.value, String(600));
    // The button asks for statistics again too (the timer does so only every tenth time).
    assert.equal(Number(device.quality.rows.device_score!.values!.value), Number(before.quality.rows.device_score!.values!.value) + 1);
    assert.deepEqual(problems, [], 'no script error or policy violation on the page');
  });

  it('refreshes by itself on its timer', async () => {
    const timed = await browser.newPage();
    try {
      // ?refresh=1: every second instead of every 30, so the test waits for loads, not for time.
      await timed.goto(`${base}/dashboard?refresh=1`);
      await loaded(timed, 1);
      await timed.waitForFunction(() => Number(document.getElementById('dashboard')!.getAttribute('data-loads')) >= 3, { timeout: 20_000 });
      assert.equal((await pageState(timed)).state, 'ready');
    } finally {
      await timed.close();
    }
  });

  /** Opens the dashboard in a fresh page whose GraphQL requests `answer` may answer instead of the gateway. */
  const withAnswers = async (answer: (body: string) => { status: number; contentType: string; body: string } | undefined, use: (page: Page) => Promise<void>) => {
    const intercepted = await browser.newPage();
    try {
      await intercepted.setRequestInterception(true);
      intercepted.on('request', (request) => {
        const instead = request.url().endsWith('/graphql') ? answer(request.postData() ?? '') : undefined;
        void (instead === undefined ? request.continue() : request.respond(instead));
      });
      await intercepted.goto(`${base}/dashboard`);
      await use(intercepted);
    } finally {
      await intercepted.close();
    }
  };

  it('shows the error, with its code, in the sections whose query failed, and the rest as usual', async () => {
    const refused = JSON.stringify({ errors: [{ message: 'parity tables are missing', extensions: { code: 'PARITY_DOWN' } }] });
    await withAnswers(
      (body) => (body.includes('DashboardParity') ? { status: 200, contentType: 'application/json', body: refused } : undefined),
      async (partial) => {
        await loaded(partial, 1, 'error');
        const banner = await partial.$$eval('#errors [data-error]', (list) => list.map((e) => [e.getAttribute('data-error'), e.textContent]));
        assert.deepEqual(banner, [['parity', 'parity unavailable: parity tables are missing (PARITY_DOWN)']]);
        for (const view of await readViews(partial)) {
          assert.equal(view.parity.error, 'parity', view.view);
          if (view.kind !== 'ON_DEMAND') assert.notEqual(view.freshness.stale, null, `${view.view} freshness still shown`);
        }
        assert.ok((await readCatalog(partial)).rows.length > 0, 'catalog still shown');
      },
    );
  });

  it('shows an error state when the API does not answer at all', async () => {
    await withAnswers(
      () => ({ status: 503, contentType: 'text/plain', body: 'upstream unavailable' }),
      async (down) => {
        await loaded(down, 1, 'error');
        const banner = await down.$$eval('#errors [data-error]', (list) => list.map((e) => e.getAttribute('data-error')));
        assert.deepEqual(banner.sort(), ['freshness', 'parity', 'quality', 'registry']);
        assert.match(await down.$eval('#errors', (e) => e.textContent!), /HTTP 503/);
        assert.equal(await down.$eval('#view-list [data-error]', (e) => e.getAttribute('data-error')), 'registry');
        assert.equal((await readCatalog(down)).rows.length, 0);
      },
    );
  });
});
