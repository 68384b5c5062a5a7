/** API keys: made, hashed, listed in the key file and verified; every way a presented key can be wrong. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ApiKeys, createApiKey, hashKey, keyId, parseKeyFile } from '../../../src/auth/api-keys.ts';
import { ConfigError } from '../../../src/errors.ts';

describe('API keys', () => {
  it('makes a key carrying its id, and an entry holding its SHA-256 and roles, not the key', () => {
    const { key, entry, line } = createApiKey('fraud-app', ['fraud', 'reader']);
    assert.match(key, /^skw_fraud-app_[A-Za-z0-9_-]{43}$/);
    assert.equal(keyId(key), 'fraud-app');
    assert.equal(entry.hash, `sha256:${createHash('sha256').update(key).digest('hex')}`);
    assert.deepEqual(JSON.parse(line), { id: 'fraud-app', hash: entry.hash, roles: ['fraud', 'reader'] });
    assert.ok(!line.includes(key.slice(-43)), 'the secret is not in the line');
  });

  it('makes a different secret every time', () => {
    assert.notEqual(createApiKey('a', []).key, createApiKey('a', []).key);
  });

  it('verifies a listed key to its principal, and refuses a wrong secret, an unknown id and a malformed key', () => {
    const a = createApiKey('app-a', ['reader']);
    const b = createApiKey('app-b', []);
    const keys = new ApiKeys(parseKeyFile(`${a.line}\n${b.line}\n`, 'keys.jsonl'));
    assert.deepEqual(keys.verify(a.key), { id: 'app-a', roles: ['reader'], via: 'api-key' });
    assert.deepEqual(keys.verify(b.key), { id: 'app-b', roles: [], via: 'api-key' });
    const secret = a.key.slice('skw_app-a_'.length);
    const flipped = secret[0] === 'A' ? `B${secret.slice(1)}` : `A${secret.slice(1)}`;
    assert.equal(keys.verify(`skw_app-a_${flipped}`), undefined, 'wrong secret');
    assert.equal(keys.verify(`skw_app-b_${secret}`), undefined, "another key's secret under this id");
    assert.equal(keys.verify(`skw_app-c_${secret}`), undefined, 'unknown id');
    for (const bad of ['', 'skw_', 'skw_app-a', 'skw_app-a_', secret, `Skw_app-a_${secret}`, `skw_app_a_${secret}`]) assert.equal(keys.verify(bad), undefined, JSON.stringify(bad));
  });

  it('reads comments and blank lines, and reports every bad line of a key file at once with its line number', () => {
    const good = createApiKey('good', ['r']).line;
    const text = [
      '# keys of the fraud team',
      good,
      '',
      'not json',
      '{"id": "bad id", "hash": "sha256:00", "roles": "r"}',
      good,
      '{"id": "x", "hash": "md5:abc", "roles": [], "expires": "never"}',
    ].join('\n');
    let error: unknown;
    try {
      parseKeyFile(text, 'keys.jsonl');
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError);
    const problems = (error.details as { problems: string[] }).problems;
    assert.deepEqual(
      problems.map((p) => p.split(':')[0] + ':' + p.split(':')[1]),
      ['keys.jsonl:4', 'keys.jsonl:5', 'keys.jsonl:5', 'keys.jsonl:5', 'keys.jsonl:6', 'keys.jsonl:7', 'keys.jsonl:7'],
    );
    assert.match(problems[4]!, /id "good" appears twice/);
    assert.match(problems[5]!, /unknown field\(s\) expires/);
  });

  it('refuses ids that cannot travel inside a key, and the "*" role', () => {
    assert.throws(() => createApiKey('has_underscore', []), ConfigError);
    assert.throws(() => createApiKey('', []), ConfigError);
    assert.throws(() => createApiKey('ok', ['*']), ConfigError);
  });

  it('hashes the whole key as sha256:<hex>', () => {
    assert.equal(hashKey('skw_a_b'), `sha256:${createHash('sha256').update('skw_a_b').digest('hex')}`);
  });
});
