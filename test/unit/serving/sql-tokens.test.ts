/** sqlTokens splits SQL where PostgreSQL's scanner does: strings, comments and names end where the server's do. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sqlTokens } from '../../../src/stores/sql/sql-tokens.ts';

/** The tokens as short strings: words bare, quoted names in quotes, strings as '…', other characters as themselves. */
function shapes(sql: string): string[] {
  const result = sqlTokens(sql);
  assert.ok(result.ok, `${sql}: ${result.ok ? '' : result.reason}`);
  return result.tokens.map((t) => (t.kind === 'word' ? t.text : t.kind === 'quoted' ? `"${t.text}"` : t.kind === 'string' ? "'…'" : t.text));
}

describe('sqlTokens', () => {
  it('reads $ inside a name as part of it, and $$ or $tag$ at a token start as a dollar quote', () => {
    assert.deepEqual(shapes('a$$, b $$x, y$$ c'), ['a$$', ',', 'b', "'…'", 'c']);
    assert.deepEqual(shapes('$a$ $b$ $A$ $a$x'), ["'…'", 'x']);
    assert.deepEqual(shapes('1$$x$$'), ['1', "'…'"], 'a number ends before $: the server starts a dollar quote there');
    assert.deepEqual(shapes('$1 + $2'), ['$', '1', '+', '$', '2']);
  });

  it('ends -- comments at a carriage return or a line feed, and nests block comments', () => {
    assert.deepEqual(shapes('a --x\rb --y\nc -- z'), ['a', 'b', 'c']);
    assert.deepEqual(shapes('a /* x /* y */ z */ b'), ['a', 'b']);
    assert.deepEqual(shapes('a /***/ b /*/ */ c'), ['a', 'b', 'c']);
    assert.deepEqual(shapes('a +-- b\nc'), ['a', '+', 'c'], 'an operator stops where a comment starts');
  });

  it("reads backslashes as escapes only in E'' strings, and as plain characters in U&'' strings", () => {
    assert.deepEqual(shapes("E'\\'' x e'\\\\' y"), ["'…'", 'x', "'…'", 'y']);
    assert.deepEqual(shapes("U&'\\' x"), ["'…'", 'x']);
    assert.deepEqual(shapes("'it''s' x"), ["'…'", 'x']);
    assert.deepEqual(shapes("xe'a' b"), ['xe', "'…'", 'b'], 'E is a prefix only as a word of its own');
    assert.deepEqual(shapes("1e'\\'' x"), ['1', "'…'", 'x'], "1e'…' is 1 then an E string, as servers before 15 read it");
    assert.deepEqual(shapes("B'01' X'ff' N'n'"), ['b', "'…'", 'x', "'…'", 'n', "'…'"]);
  });

  it('refuses a plain string holding a backslash: its end depends on standard_conforming_strings', () => {
    for (const sql of ["'a\\' x", "N'\\'", "E'a'\n'\\''"]) {
      const result = sqlTokens(sql);
      assert.ok(!result.ok, sql);
      assert.match(result.reason, /backslash in a plain/);
    }
  });

  it('decodes quoted names: "" and U& escapes, case kept', () => {
    assert.deepEqual(shapes('"Se""t" U&"\\0070g_\\+000072ead" u&"a\\\\b" "U&"'), ['"Se"t"', '"pg_read"', '"a\\b"', '"U&"']);
    assert.deepEqual(shapes('SELECT Pg_Read_File'), ['select', 'pg_read_file']);
  });

  it('counts non-ASCII characters as letters, as the server does', () => {
    assert.deepEqual(shapes('select\u00a0x é$1'), ['select\u00a0x', 'é$1']);
  });

  it('refuses strings, names and comments left open', () => {
    for (const [sql, reason] of [
      ["'abc", /unterminated string/],
      ["E'abc\\'", /unterminated string/],
      ['"abc', /unterminated quoted identifier/],
      ['/* a /* b */', /unterminated comment/],
      ['$q$ abc $Q$', /unterminated dollar-quoted string \(\$q\$/],
    ] as const) {
      const result = sqlTokens(sql);
      assert.ok(!result.ok, sql);
      assert.match(result.reason, reason, sql);
    }
  });
});
