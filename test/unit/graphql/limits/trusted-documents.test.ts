/** The trusted-documents file: SHA-256 hex → document, every entry checked at start-up, every problem named. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../../src/errors.ts';
import { parseTrustedDocuments, sha256Hex } from '../../../../src/graphql/limits/trusted-documents.ts';

const ONE = '{ user(user_id: "1") { stats { n } } }';
const TWO = 'query Two { registry { views { name } } }';

describe('trusted documents', () => {
  it('looks documents up by hash and by exact text', () => {
    const trusted = parseTrustedDocuments(JSON.stringify({ [sha256Hex(ONE)]: ONE, [sha256Hex(TWO)]: TWO }), 'docs.json');
    assert.equal(trusted.size, 2);
    assert.equal(trusted.byHash(sha256Hex(TWO)), TWO);
    assert.equal(trusted.byHash(sha256Hex('{ other }')), undefined);
    assert.equal(trusted.has(ONE), true);
    assert.equal(trusted.has(`${ONE} `), false, 'exact text: one more space is another document');
  });

  it('hashes the UTF-8 text (the known SHA-256 of "abc")', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('names every bad entry at once: not a hash, not a string, not the hash of its document', () => {
    const text = JSON.stringify({ 'not-a-hash': ONE, [sha256Hex(ONE)]: 42, [sha256Hex(ONE).replace(/^./, (c) => (c === '0' ? '1' : '0'))]: ONE, [sha256Hex(TWO)]: TWO });
    assert.throws(
      () => parseTrustedDocuments(text, 'docs.json'),
      (e: unknown) =>
        e instanceof ConfigError &&
        /trusted documents docs\.json:/.test(e.message) &&
        /"not-a-hash" is not a lowercase hex SHA-256/.test(e.message) &&
        /the document must be a string/.test(e.message) &&
        new RegExp(`is not the SHA-256 of its document \\(that is ${sha256Hex(ONE)}\\)`).test(e.message),
    );
  });

  it('refuses a file that is not a JSON object, or an empty list', () => {
    assert.throws(() => parseTrustedDocuments('{', 'a.json'), /trusted documents a\.json: not JSON/);
    assert.throws(() => parseTrustedDocuments(JSON.stringify([ONE]), 'a.json'), /expected one JSON object mapping SHA-256 hex to document text/);
    assert.throws(() => parseTrustedDocuments('{}', 'a.json'), /the list is empty/);
  });
});
