/** Row validation for pushes and ingest: every bad row listed, nothing accepted from a bad batch. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { validateRows } from '../../../src/ingest/rows.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import type { RowView } from '../../../src/registry/types.ts';
import { loadFixtureRegistry } from '../../helpers/repos.ts';

let registry: Registry;
let view: RowView;
before(async () => {
  registry = await loadFixtureRegistry();
  view = registry.view('all_types') as RowView;
});
const ARRIVAL = Date.UTC(2026, 10, 21);
const check = (rows: unknown[]) => validateRows(view, registry.entity('User')!, rows, { arrivalMs: ARRIVAL });

describe('validateRows', () => {
  it('normalises a good row and defaults created_timestamp to the arrival time', () => {
    const result = check([{ user_id: 7, event_timestamp: '2026-11-20T00:00:00Z', t_int: 1, t_time: 5, t_required: 0 }]);
    assert.ok(result.ok);
    assert.deepEqual(result.rows[0], {
      entityKey: '7',
      keyValues: ['7'],
      eventTs: Date.UTC(2026, 10, 20),
      createdTs: ARRIVAL,
      values: { t_int: 1, t_float: null, t_string: null, t_bool: null, t_id: null, t_time: 5, t_json: null, t_list: null, t_required: 0 },
    });
  });

  it('lists every problem of every bad row with index, field and reason', () => {
    const result = check([
      { user_id: 'ok', event_timestamp: 1, t_required: 1 },
      'not an object',
      { event_timestamp: 'yesterday', t_int: 'x', t_requierd: 1 },
      { user_id: 'u', event_timestamp: 1, created_timestamp: 'later', t_required: null },
    ]);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.errors.map((e) => [e.index, e.field]),
      [
        [1, null],
        [2, 't_requierd'],
        [2, 'user_id'],
        [2, 'event_timestamp'],
        [2, 't_int'],
        [2, 't_required'],
        [3, 'created_timestamp'],
        [3, 't_required'],
      ],
    );
    assert.match(result.errors[1]!.reason, /did you mean "t_required"/);
  });

  it('stops collecting at maxErrors and says so', () => {
    const rows = Array.from({ length: 50 }, () => ({}));
    const result = validateRows(view, registry.entity('User')!, rows, { arrivalMs: ARRIVAL, maxErrors: 5 });
    assert.ok(!result.ok && result.truncated && result.errors.length >= 5);
  });
});
