/**
 * Splits SQL text into tokens where PostgreSQL's own scanner (src/backend/parser/scan.l) would split it,
 * as far as a safety check needs: words (keywords and unquoted identifiers), quoted identifiers, string
 * constants, and single characters for everything else. Pure.
 *
 * A check that reads SQL differently from the server can be walked around: text the check takes for a
 * string or a comment that the server takes for code (or the reverse) hides a function call from it. So
 * every boundary follows scan.l exactly, and where the server's reading depends on a setting the check
 * cannot see, the text is refused rather than guessed at:
 *
 * - `$` continues an identifier (`a$$` is one name, not the start of a dollar-quoted string); a dollar
 *   quote starts only where a token can, and ends at the first exact repeat of its tag.
 * - `--` comments end at a carriage return as well as a line feed; `/* … *\/` comments nest.
 * - A backslash escapes the next character only in `E'…'` strings. In a plain `'…'` string it does so
 *   only when the server runs with `standard_conforming_strings = off`, so a plain string holding a
 *   backslash is refused: its end cannot be known from the text alone.
 * - `U&"…"` identifiers are decoded (`\XXXX`, `\+XXXXXX`), so `U&"\0070g_read_file"` is read as the
 *   name it spells. (A custom `UESCAPE` character is for the caller to refuse: it is a word here.)
 * - Digits are never part of a word's start: `1e'…'` is the number 1 and then an E string, as older
 *   servers read it (newer ones reject the text outright).
 */

export type SqlToken =
  /** A keyword or unquoted identifier, ASCII letters folded to lower case as the server folds them. */
  | { readonly kind: 'word'; readonly text: string; readonly start: number }
  /** A quoted identifier: the name the server reads, `""` and U& escapes decoded. */
  | { readonly kind: 'quoted'; readonly text: string; readonly start: number }
  /** A string constant of any form: data, never SQL. */
  | { readonly kind: 'string'; readonly start: number }
  /** Any other single character: punctuation, operators, digits. */
  | { readonly kind: 'char'; readonly text: string; readonly start: number };

export type SqlTokens = { readonly ok: true; readonly tokens: readonly SqlToken[] } | { readonly ok: false; readonly reason: string };

/** scan.l's `space`, which PostgreSQL 16 widened to include \v; counted as space here either way. */
const SPACE = /[ \t\n\r\f\v]/;
/** scan.l's ident_start and ident_cont: bytes ≥ 0x80 (any non-ASCII character) count as letters. */
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z0-9_$\u0080-\uffff]/;
/** scan.l's dolqdelim: `$tag$`, a tag being an identifier without `$`, or `$$`. */
const DOLLAR_DELIMITER = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

type StringMode = 'plain' | 'escapes' | 'unicode';

export function sqlTokens(sql: string): SqlTokens {
  const tokens: SqlToken[] = [];
  let i = 0;
  const fail = (reason: string): SqlTokens => ({ ok: false, reason });
  while (i < sql.length) {
    const c = sql[i]!;
    const start = i;
    const tag = c === '$' ? dollarDelimiter(sql, i) : undefined;
    if (SPACE.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n' && sql[i] !== '\r') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = blockCommentEnd(sql, i);
      if (end === undefined) return fail('unterminated comment');
      i = end;
    } else if (c === "'") {
      const end = stringEnd(sql, i, 'plain');
      if (typeof end === 'string') return fail(end);
      tokens.push({ kind: 'string', start });
      i = end;
    } else if (c === '"') {
      const quoted = quotedIdentifier(sql, i, false);
      if (quoted === undefined) return fail('unterminated quoted identifier');
      tokens.push({ kind: 'quoted', text: quoted.name, start });
      i = quoted.end;
    } else if (tag !== undefined) {
      const close = sql.indexOf(tag, i + tag.length);
      if (close === -1) return fail(`unterminated dollar-quoted string (${tag} is never closed)`);
      tokens.push({ kind: 'string', start });
      i = close + tag.length;
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < sql.length && IDENT_CONT.test(sql[j]!)) j++;
      const word = sql.slice(i, j);
      const prefix = word.length === 1 ? word.toLowerCase() : '';
      if (prefix === 'e' && sql[j] === "'") {
        const end = stringEnd(sql, j, 'escapes');
        if (typeof end === 'string') return fail(end);
        tokens.push({ kind: 'string', start });
        i = end;
      } else if (prefix === 'u' && sql[j] === '&' && sql[j + 1] === "'") {
        const end = stringEnd(sql, j + 1, 'unicode');
        if (typeof end === 'string') return fail(end);
        tokens.push({ kind: 'string', start });
        i = end;
      } else if (prefix === 'u' && sql[j] === '&' && sql[j + 1] === '"') {
        const quoted = quotedIdentifier(sql, j + 1, true);
        if (quoted === undefined) return fail('unterminated quoted identifier');
        tokens.push({ kind: 'quoted', text: quoted.name, start });
        i = quoted.end;
      } else {
        // B'…', X'…' and N'…' need nothing special: the word, then a string read as plain.
        tokens.push({ kind: 'word', text: word.replace(/[A-Z]+/g, (m) => m.toLowerCase()), start });
        i = j;
      }
    } else {
      tokens.push({ kind: 'char', text: c, start });
      i++;
    }
  }
  return { ok: true, tokens };
}

/** The index after a block comment starting at `i`, or undefined when it never closes. Comments nest. */
function blockCommentEnd(sql: string, i: number): number | undefined {
  let depth = 0;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return undefined;
}

/**
 * The index after a string constant whose opening quote is at `i`, or why it cannot be read. `''` is a
 * quote inside every kind; a backslash escapes only in E strings, is an ordinary character in U& strings
 * (which the server rejects unless standard_conforming_strings is on), and is ambiguous in plain ones.
 */
function stringEnd(sql: string, i: number, mode: StringMode): number | string {
  let j = i + 1;
  for (;;) {
    if (j >= sql.length) return 'unterminated string';
    const c = sql[j];
    if (c === '\\' && mode === 'escapes') {
      j += 2;
    } else if (c === '\\' && mode === 'plain') {
      return "a backslash in a plain '…' string: whether it escapes the next character depends on the server's standard_conforming_strings, so its end cannot be known; write E'…' for escapes or $$…$$ for a literal backslash";
    } else if (c === "'" && sql[j + 1] === "'") {
      j += 2;
    } else if (c === "'") {
      return j + 1;
    } else {
      j++;
    }
  }
}

/** A quoted identifier whose opening `"` is at `i`: the name it spells and the index after it. */
function quotedIdentifier(sql: string, i: number, unicode: boolean): { name: string; end: number } | undefined {
  let name = '';
  let j = i + 1;
  for (;;) {
    if (j >= sql.length) return undefined;
    if (sql[j] === '"' && sql[j + 1] === '"') {
      name += '"';
      j += 2;
    } else if (sql[j] === '"') {
      return { name: unicode ? decodeUnicodeEscapes(name) : name, end: j + 1 };
    } else {
      name += sql[j];
      j++;
    }
  }
}

/** U&"…" escapes with the default escape character: `\\`, `\XXXX`, `\+XXXXXX`; anything else as written. */
function decodeUnicodeEscapes(text: string): string {
  return text.replace(/\\(\\|[0-9A-Fa-f]{4}|\+[0-9A-Fa-f]{6})/g, (whole, code: string) => {
    if (code === '\\') return '\\';
    const point = Number.parseInt(code.replace('+', ''), 16);
    return point <= 0x10ffff ? String.fromCodePoint(point) : whole;
  });
}

/** The dollar-quote delimiter starting at `i` (`$$` or `$tag$`), if one does. */
function dollarDelimiter(sql: string, i: number): string | undefined {
  DOLLAR_DELIMITER.lastIndex = i;
  return DOLLAR_DELIMITER.exec(sql)?.[0];
}
