import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { freshnessReport, freshnessTopics, newestByView, newestEventTimesSql } from '../../../src/ops/freshness.ts';
import type { FreshnessReading } from '../../../src/ops/freshness.ts';
import { freshnessDetail } from '../../../src/ops/health.ts';
import { filterReport } from '../../../src/graphql/freshness-fields.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { registryFromSdl } from '../../helpers/repos.ts';

const T = Date.parse('2026-11-21T12:00:00Z');
const MIN = 60_000;

describe('view freshness', () => {
  let registry: Registry;
  before(async () => {
    registry = await registryFromSdl(`
      type User @entity(key: ["user_id"]) { user_id: ID! }
      type Txn @source(topic: "txns", timestamp: "at") { user_id: ID! amount: Float! at: DateTime! }
      type Pushed @featureView(entity: "User", freshness: "15m") { n: Int }
      type Streamed @featureView(entity: "User", topic: "stat_rows") { n: Int }
      type Windows @featureView(entity: "User", source: "Txn", freshness: "1h") { c: Int! @aggregate(fn: COUNT, window: "1d") }
      type MoreWindows @featureView(entity: "User", source: "Txn") { s: Float! @aggregate(fn: SUM, of: "amount", window: "1d") }
      type Signals @onDemand(transform: "signals", inputs: ["pushed"]) { x: Float }
    `, ['signals']);
  });

  const reading = (newest: Record<string, number | null>, lag?: Record<string, number>): FreshnessReading => ({
    checkedAt: T - MIN,
    newest: new Map(Object.entries(newest)),
    lag: lag === undefined ? undefined : new Map(Object.entries(lag)),
  });

  it('reads one newest time per row view and one per source, whatever number of views share it', () => {
    const { sql, params } = newestEventTimesSql(registry);
    assert.deepEqual(params, ['view:pushed', 'view:streamed', 'source:Txn', 'Txn']);
    assert.equal(sql.split(' union all ').length, 3);
    assert.match(sql, /max\(event_timestamp\) from skewless\."history_pushed"/);
    // A source's newest event time is kept with its archive marks, not read from the archive.
    assert.match(sql, /max\(newest_event_time\) from skewless\.archive_marks where source = \$4::text/);
  });

  it('gives aggregation views their source\'s newest event and row views their own', () => {
    const rows = [
      { key: 'view:pushed', newest: new Date(T - 5 * MIN) },
      { key: 'view:streamed', newest: null },
      { key: 'source:Txn', newest: new Date(T - 2 * MIN) },
    ];
    assert.deepEqual(Object.fromEntries(newestByView(registry, rows)), { pushed: T - 5 * MIN, streamed: null, windows: T - 2 * MIN, more_windows: T - 2 * MIN });
  });

  it('measures age at the report instant and calls a view stale only past its declared freshness', () => {
    const report = freshnessReport(registry, reading({ pushed: T - 16 * MIN, streamed: T - 3 * 86_400_000, windows: T - 59 * MIN, more_windows: T - 59 * MIN }), T);
    assert.deepEqual(
      report.views.map((v) => [v.view, v.kind, v.ageMs, v.expected, v.stale]),
      [
        ['pushed', 'row', 16 * MIN, '15m', true],
        // Old, but it declares no freshness: reported, never stale.
        ['streamed', 'row', 3 * 86_400_000, null, false],
        ['windows', 'aggregation', 59 * MIN, '1h', false],
        ['more_windows', 'aggregation', 59 * MIN, null, false],
      ],
    );
    assert.equal(report.asOf, T);
    assert.equal(report.checkedAt, T - MIN);
    assert.ok(!report.views.some((v) => v.view === 'signals'), 'on-demand views have no freshness of their own');
  });

  it('is not stale exactly at its freshness, only past it', () => {
    const at = (age: number) => freshnessReport(registry, reading({ pushed: T - age }), T).views[0]!;
    assert.equal(at(15 * MIN).stale, false);
    assert.equal(at(15 * MIN + 1).stale, true);
  });

  it('calls a view that declares a freshness and has no value stale, but not before anything was read', () => {
    const read = freshnessReport(registry, reading({ pushed: null, windows: null }), T);
    assert.deepEqual(read.views.filter((v) => v.stale).map((v) => v.view), ['pushed', 'windows']);
    assert.equal(read.views[0]!.ageMs, null);
    const unread = freshnessReport(registry, undefined, T, 'connection refused');
    assert.ok(unread.views.every((v) => !v.stale && v.newestEventTime === null));
    assert.equal(unread.checkedAt, null);
    assert.equal(unread.error, 'connection refused');
  });

  it('reports a value dated in the future as age 0', () => {
    assert.equal(freshnessReport(registry, reading({ pushed: T + MIN }), T).views[0]!.ageMs, 0);
  });

  it("gives each view its topic's lag, and none without Kafka or without a topic", () => {
    assert.deepEqual(freshnessTopics(registry), ['stat_rows', 'txns']);
    const withLag = freshnessReport(registry, reading({}, { stat_rows: 7, txns: 40 }), T);
    assert.deepEqual(withLag.views.map((v) => [v.view, v.topic, v.lag]), [['pushed', null, null], ['streamed', 'stat_rows', 7], ['windows', 'txns', 40], ['more_windows', 'txns', 40]]);
    assert.ok(freshnessReport(registry, reading({}), T).views.every((v) => v.lag === null));
  });

  it('says why lag is missing without dropping the event times', () => {
    const report = freshnessReport(registry, { ...reading({ pushed: T }), lagError: 'broker down' }, T);
    assert.equal(report.error, 'lag: broker down');
    assert.equal(report.views[0]!.ageMs, 0);
  });

  it('lists the stale views for /readyz', () => {
    const detail = freshnessDetail(freshnessReport(registry, reading({ pushed: T - 20 * MIN, windows: T }), T));
    assert.deepEqual(detail, { stale: [{ view: 'pushed', ageSeconds: 1200, expected: '15m' }], checkedAt: new Date(T - MIN).toISOString(), error: null });
  });

  it('narrows Query.freshness to named views and to stale ones, and refuses unknown names', () => {
    const report = freshnessReport(registry, reading({ pushed: T - 20 * MIN, windows: T }), T);
    assert.deepEqual(filterReport(report, ['windows', 'pushed'], false).views.map((v) => v.view), ['pushed', 'windows']);
    assert.deepEqual(filterReport(report, undefined, true).views.map((v) => v.view), ['pushed']);
    assert.throws(() => filterReport(report, ['pushd', 'signals'], false), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'UNKNOWN_VIEW');
      assert.match(e.message, /"pushd" \(did you mean "pushed"\?\), "signals"/);
      return true;
    });
  });
});
