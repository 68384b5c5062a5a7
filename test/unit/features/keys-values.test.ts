import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeKey, entityKey, entityKeyText, onlineKey } from '../../../src/features/keys.ts';
import { normalizeValue } from '../../../src/features/values.ts';
import type { Entity, FieldType } from '../../../src/registry/types.ts';

const loc = { file: 'x', line: 1, column: 1 };
const entity = (keys: [string, 'ID' | 'String' | 'Int'][]): Entity => ({
  name: 'E',
  typeName: 'E',
  description: undefined,
  loc,
  joinKeys: keys.map(([name, scalar]) => ({ name, type: { scalar, list: false, nullable: false }, description: undefined, loc })),
});

describe('entity keys', () => {
  it('treats an integer and its text as the same ID', () => {
    const e = entity([['user_id', 'ID']]);
    assert.deepEqual(entityKey(e, { user_id: 123 }), entityKey(e, { user_id: '123' }));
  });

  it('encodes composite keys unambiguously', () => {
    const e = entity([['a', 'String'], ['b', 'String']]);
    const k1 = entityKey(e, { a: 'x,y', b: 'z' });
    const k2 = entityKey(e, { a: 'x', b: 'y,z' });
    assert.ok(k1.ok && k2.ok);
    assert.notEqual(k1.key, k2.key);
    assert.equal(encodeKey(['only']), 'only');
  });

  it('refuses a join key holding U+0000, which no store could keep', () => {
    const r = entityKey(entity([['user_id', 'ID']]), { user_id: 'u\u00001' });
    assert.ok(!r.ok && r.field === 'user_id' && /U\+0000/.test(r.reason));
  });

  it('names the key and the problem for missing or mistyped values', () => {
    const e = entity([['user_id', 'ID'], ['n', 'Int']]);
    assert.deepEqual(entityKey(e, { n: 1 }), { ok: false, field: 'user_id', reason: 'join key "user_id" is missing' });
    assert.deepEqual(entityKey(e, { user_id: 'u', n: '1' }), { ok: false, field: 'n', reason: 'join key "n" must be an integer, got "1"' });
    assert.equal(entityKey(e, { user_id: 1.5, n: 1 }).ok, false);
    assert.equal(entityKey(e, { user_id: '', n: 1 }).ok, false);
  });

  it('gives the key entityKey gives, or undefined where it gives a reason (entityKeyText, the fold\'s shortcut)', () => {
    const values: unknown[] = ['u1', '', 'u\u00001', '123', 123, -7, 1.5, 2 ** 60, null, undefined, true, { a: 1 }, ['x'], ' ', 'ü'];
    const entities = [entity([['k', 'ID']]), entity([['k', 'String']]), entity([['k', 'Int']]), entity([['k', 'ID'], ['j', 'String']])];
    let keyed = 0;
    for (const e of entities) {
      for (const k of values) {
        for (const j of ['j1', undefined]) {
          const row = { k, j };
          const full = entityKey(e, row);
          assert.equal(entityKeyText(e, row), full.ok ? full.key : undefined, `${e.joinKeys.map((f) => f.type.scalar).join('+')} ${JSON.stringify(row)}`);
          if (full.ok) keyed++;
        }
      }
    }
    assert.ok(keyed > 10);
  });

  it('hash-tags online keys by entity so one entity\'s views share a cluster slot', () => {
    assert.equal(onlineKey('User', 'u1', 'stats'), '{User:u1}:stats');
  });
});

describe('feature values', () => {
  const t = (scalar: FieldType['scalar'], extra: Partial<FieldType> = {}): FieldType => ({ scalar, list: false, nullable: true, ...extra });

  it('accepts each type and normalises DateTime to epoch ms', () => {
    assert.deepEqual(normalizeValue(t('Int'), 7), { ok: true, value: 7 });
    assert.deepEqual(normalizeValue(t('Float'), 1), { ok: true, value: 1 });
    assert.deepEqual(normalizeValue(t('DateTime'), '2026-01-01T00:00:00Z'), { ok: true, value: Date.UTC(2026, 0, 1) });
    assert.deepEqual(normalizeValue(t('ID'), 42), { ok: true, value: '42' });
    assert.deepEqual(normalizeValue(t('Float', { list: true }), [1, 2.5]), { ok: true, value: [1, 2.5] });
    assert.deepEqual(normalizeValue(t('JSON'), { a: [1] }), { ok: true, value: { a: [1] } });
  });

  it('refuses text and JSON holding U+0000, which PostgreSQL cannot store, wherever it is', () => {
    for (const [type, value] of [[t('String'), 'a\u0000'], [t('ID'), '\u0000'], [t('String', { list: true }), ['ok', 'b\u0000']], [t('JSON'), { k: ['\u0000'] }], [t('JSON'), { '\u0000': 1 }]] as const) {
      const r = normalizeValue(type, value);
      assert.ok(!r.ok && /U\+0000/.test(r.reason), JSON.stringify(value));
    }
    assert.deepEqual(normalizeValue(t('JSON'), '{"a":"\\u0000"}', true).ok, false, 'JSON from text too');
    assert.deepEqual(normalizeValue(t('String'), 'a\\u0000'), { ok: true, value: 'a\\u0000' }, 'the six characters \\u0000 are fine');
  });

  it('refuses values of the wrong type, out of range, or null where not allowed', () => {
    assert.equal(normalizeValue(t('Int'), 2 ** 31).ok, false);
    assert.equal(normalizeValue(t('Int'), 1.5).ok, false);
    assert.equal(normalizeValue(t('Float'), Number.NaN).ok, false);
    assert.equal(normalizeValue(t('Float'), '1.5').ok, false);
    assert.equal(normalizeValue(t('Boolean'), 'true').ok, false);
    assert.equal(normalizeValue(t('String'), 5).ok, false);
    assert.equal(normalizeValue(t('DateTime'), '2026-01-01T00:00:00').ok, false);
    assert.equal(normalizeValue(t('Float', { list: true }), [1, 'x']).ok, false);
    assert.deepEqual(normalizeValue(t('Int', { nullable: false }), null), { ok: false, reason: 'must not be null' });
  });

  it('reads text spellings only when asked (CSV)', () => {
    assert.deepEqual(normalizeValue(t('Int'), '12', true), { ok: true, value: 12 });
    assert.deepEqual(normalizeValue(t('Float'), '1.5', true), { ok: true, value: 1.5 });
    assert.deepEqual(normalizeValue(t('Boolean'), 'false', true), { ok: true, value: false });
    assert.deepEqual(normalizeValue(t('Float'), '', true), { ok: true, value: null });
    assert.deepEqual(normalizeValue(t('DateTime'), '1700000000000', true), { ok: true, value: 1_700_000_000_000 });
    assert.equal(normalizeValue(t('Int'), '1.5', true).ok, false);
  });
});
