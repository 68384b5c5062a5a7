/**
 * The policy file and the grant tables compiled from it: defaults, per-view overrides one role at a time,
 * "*", feature services, on-demand views narrowed to what they read, and every mistake in a file at once.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { GrantTable, checkSelection, checkViews } from '../../../src/auth/grants.ts';
import { ACTIONS, ALLOW_AUTHENTICATED, parsePolicy } from '../../../src/auth/policy.ts';
import type { Action } from '../../../src/auth/policy.ts';
import { ConfigError } from '../../../src/errors.ts';
import type { SkewlessError } from '../../../src/errors.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { loadFixtureRegistry } from '../../helpers/repos.ts';

const POLICY = {
  default: { '*': ['read_online'], trainer: ['read_online', 'read_offline'], ops: ['read_online', 'read_offline', 'push', 'admin'] },
  views: {
    stats_c: { '*': [], trainer: ['read_offline'] },
    stats_b: { writer: ['push'] },
  },
  services: { serving_model: { 'model-app': ['read_online'] } },
};

describe('authorization policy', () => {
  let registry: Registry;
  let table: GrantTable;
  /** Which views of the fixture allow `action` for these roles, sorted. */
  const allowed = (roles: string[], action: Action) =>
    registry.views
      .map((v) => v.name)
      .filter((v) => table.forRoles(roles).allowsView(action, v))
      .sort();

  before(async () => {
    registry = await loadFixtureRegistry();
    table = new GrantTable(registry, parsePolicy(JSON.stringify(POLICY), registry, 'policy.json'));
  });

  it('gives every caller what "*" is granted by default, except where a view overrides "*"', () => {
    assert.deepEqual(allowed([], 'read_online'), ['all_types', 'device_stats', 'fragile', 'pair_stats', 'stats_a', 'stats_b']);
    assert.deepEqual(allowed([], 'read_offline'), []);
    assert.deepEqual(allowed([], 'push'), []);
    assert.equal(table.forRoles([]).adminOfAll, false);
  });

  it('overrides one role at a time: a view entry for one role leaves the others on the default', () => {
    // stats_b's entry names only writer: * and trainer keep their default there.
    assert.deepEqual(allowed(['writer'], 'push'), ['stats_b']);
    assert.ok(table.forRoles(['writer']).allowsView('read_online', 'stats_b'));
    assert.ok(table.forRoles(['trainer']).allowsView('read_offline', 'stats_b'));
    // stats_c's entry gives trainer read_offline only: no read_online there, even through "*".
    assert.ok(!table.forRoles(['trainer']).allowsView('read_online', 'stats_c'));
    assert.ok(table.forRoles(['trainer']).allowsView('read_offline', 'stats_c'));
  });

  it('narrows an on-demand view to the views it reads, through chains', () => {
    // scored reads stats_a and stats_c; scored_twice reads scored. Nobody but ops reads stats_c online.
    const reader = table.forRoles([]);
    assert.ok(reader.allowsView('read_online', 'stats_a'));
    assert.ok(!reader.allowsView('read_online', 'scored'));
    assert.ok(!reader.allowsView('read_online', 'scored_twice'));
    assert.ok(reader.allowsView('read_online', 'fragile'), 'fragile reads stats_a only');
    assert.ok(table.forRoles(['trainer']).allowsView('read_offline', 'scored_twice'), 'trainer reads both inputs offline');
    assert.deepEqual(allowed(['ops'], 'read_online'), registry.views.map((v) => v.name).sort());
  });

  it('grants a feature service as a whole, and otherwise judges its views', () => {
    const app = table.forRoles(['model-app']);
    assert.ok(app.allowsService('read_online', 'serving_model'));
    assert.doesNotThrow(() => checkSelection(app, 'read_online', [registry.view('stats_a')!, registry.view('stats_c')!], 'serving_model'));
    // The same views by name, without the service: stats_c is not the caller's to read.
    assert.throws(() => checkSelection(app, 'read_online', [registry.view('stats_a')!, registry.view('stats_c')!]), (e: SkewlessError) => e.code === 'FORBIDDEN' && JSON.stringify(e.details) === JSON.stringify({ action: 'read_online', denied: ['stats_c'] }));
    // Not granted the service: its views decide, and ops may read them all.
    assert.ok(!table.forRoles(['ops']).allowsService('read_online', 'serving_model'));
    assert.doesNotThrow(() => checkSelection(table.forRoles(['ops']), 'read_online', [registry.view('stats_a')!, registry.view('stats_c')!], 'serving_model'));
  });

  it('names every denied view in one FORBIDDEN error, with no values', () => {
    assert.throws(
      () => checkViews(table.forRoles([]), 'push', ['stats_a', 'stats_b', 'nope']),
      (e: SkewlessError) => e.code === 'FORBIDDEN' && e.httpStatus === 403 && e.message === 'not allowed to push feature views stats_a, stats_b, nope',
    );
  });

  it('ops holds admin on every view; roles the policy never names add nothing', () => {
    assert.equal(table.forRoles(['ops']).adminOfAll, true);
    assert.equal(table.forRoles(['unknown-role']), table.forRoles([]), 'the same memoized grants');
    assert.equal(table.forRoles(['trainer', 'ops']), table.forRoles(['ops', 'trainer', 'ops']));
  });

  it('without a policy file, every authenticated caller may do every action', () => {
    const open = new GrantTable(registry, ALLOW_AUTHENTICATED).forRoles([]);
    for (const action of ACTIONS) for (const view of registry.views) assert.ok(open.allowsView(action, view.name), `${action} ${view.name}`);
    assert.equal(open.adminOfAll, true);
  });

  it('reports every problem of a policy file at once', () => {
    const bad = {
      default: { reader: ['read_onlin'] },
      views: { stats_x: { r: ['push'] }, stats_a: { r: 'push' } },
      services: { serving_model: { r: ['push', 'read_online'] }, nope: {} },
      roles: {},
    };
    let error: unknown;
    try {
      parsePolicy(JSON.stringify(bad), registry, 'p.json');
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError);
    assert.deepEqual((error.details as { problems: string[] }).problems, [
      'unknown key "roles" (a policy has default, views, services)',
      '"default"."reader": unknown action "read_onlin" (did you mean "read_online"?) (actions: read_online, read_offline, push, admin)',
      '"views": no feature view is named "stats_x" (did you mean "stats_a"?)',
      '"views.stats_a"."r": expected a list of actions (read_online, read_offline, push, admin)',
      '"services.serving_model"."r": push does not apply here (only read_online, read_offline)',
      '"services": no feature service is named "nope"',
    ]);
    assert.throws(() => parsePolicy('{', registry, 'p.json'), /not JSON/);
    assert.throws(() => parsePolicy('[]', registry, 'p.json'), /expected a JSON object/);
  });
});
