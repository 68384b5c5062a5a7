/**
 * Checks a training job's `entitySql` before it runs. Pure. It is the first of three fences: this check
 * refuses anything but one SELECT/WITH statement and the functions that read files, run dynamic SQL or
 * change settings; the query then runs in a READ ONLY transaction with a statement timeout, so even SQL
 * that fooled this check cannot write or run for long; and production deployments give the gateway a
 * database role that can read only what it must (docs/point-in-time.md).
 */

export type EntitySqlCheck = { readonly ok: true; readonly sql: string } | { readonly ok: false; readonly reason: string };

/** Statements a SELECT must not contain, even inside a WITH (data-modifying CTEs) or as SELECT … INTO. */
const FORBIDDEN_WORDS = [
  'insert', 'update', 'delete', 'merge', 'truncate', 'drop', 'alter', 'create', 'grant', 'revoke', 'copy',
  'call', 'do', 'vacuum', 'analyze', 'lock', 'listen', 'notify', 'unlisten', 'set', 'reset', 'prepare',
  'execute', 'deallocate', 'discard', 'refresh', 'reindex', 'cluster', 'comment', 'security', 'into', 'load',
];

/** Functions that read the server's files, run SQL given as text, reach other servers or change state. */
const FORBIDDEN_FUNCTIONS = [
  /^pg_read_/, /^pg_ls_/, /^pg_stat_file$/, /^lo_/, /^dblink/, /^set_config$/, /^pg_sleep/, /^pg_terminate_backend$/,
  /^pg_cancel_backend$/, /^pg_reload_conf$/, /^pg_rotate_logfile$/, /^pg_promote$/, /^pg_file_/, /^pg_logdir_ls$/,
  /^query_to_xml/, /^cursor_to_xml/, /^table_to_xml/, /^schema_to_xml/, /^database_to_xml/, /^pg_advisory/, /^txid_/,
  /^pg_notify$/, /^pg_switch_wal$/, /^pg_create_/, /^pg_drop_/, /^pg_replication_/, /^pg_log_/, /^nextval$/, /^setval$/,
];

export function checkEntitySql(input: string): EntitySqlCheck {
  const stripped = stripLiteralsAndComments(input);
  if (stripped === undefined) return { ok: false, reason: 'unterminated string, quoted identifier or comment' };
  // One statement: a single trailing semicolon is tolerated and removed.
  const body = stripped.trim().replace(/;\s*$/, '');
  if (body.includes(';')) return { ok: false, reason: 'only one statement is allowed (found ";" in the middle)' };
  const first = /^[a-z_]+/i.exec(body.replace(/^\(+\s*/, ''))?.[0]?.toLowerCase();
  if (first !== 'select' && first !== 'with') return { ok: false, reason: `only SELECT or WITH … SELECT is allowed, not ${first === undefined ? 'an empty query' : first.toUpperCase()}` };
  const words = body.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? [];
  const word = words.find((w) => FORBIDDEN_WORDS.includes(w));
  if (word !== undefined) return { ok: false, reason: `${word.toUpperCase()} is not allowed in entitySql` };
  for (const m of body.toLowerCase().matchAll(/([a-z_][a-z0-9_$]*)\s*\(/g)) {
    if (FORBIDDEN_FUNCTIONS.some((f) => f.test(m[1]!))) return { ok: false, reason: `function ${m[1]}() is not allowed in entitySql` };
  }
  return { ok: true, sql: input.trim().replace(/;\s*$/, '') };
}

/**
 * The query with every string literal, quoted identifier and comment replaced by a space, so the checks
 * above see only SQL words. Undefined when one is left open.
 */
function stripLiteralsAndComments(sql: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      out += ' ';
    } else if (c === '/' && next === '*') {
      // Comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
      if (depth > 0) return undefined;
      out += ' ';
    } else if (c === "'" || c === '"') {
      // '' and "" escape the quote inside; E'…' backslash escapes are treated the same way, conservatively.
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) return undefined;
        if (sql[j] === '\\' && c === "'") j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      i = j + 1;
      out += c === '"' ? ' x ' : ' ';
    } else if (c === '$') {
      const tag = /^\$([a-z_][a-z0-9_]*)?\$/i.exec(sql.slice(i))?.[0];
      if (tag === undefined) {
        out += c;
        i++;
        continue;
      }
      const end = sql.indexOf(tag, i + tag.length);
      if (end === -1) return undefined;
      i = end + tag.length;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
