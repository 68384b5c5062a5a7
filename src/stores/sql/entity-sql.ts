/**
 * Checks a training job's `entitySql` before it runs. Pure. It is the first of three fences: this check
 * refuses anything but one SELECT/WITH statement and the functions that read files, run dynamic SQL or
 * change settings; the query then runs in a READ ONLY transaction with a statement timeout, so even SQL
 * that fooled this check cannot write or run for long; and production deployments give the gateway a
 * database role that can read only what it must (docs/database-roles.md).
 *
 * The check reads the query through the same token boundaries as PostgreSQL (sql-tokens.ts): a check that
 * sees a string or a comment where the server sees code can be walked around, and several were
 * (`a$$`-style identifiers taken for dollar quotes, `--` comments ended by a carriage return, backslashes
 * in plain strings, quoted and U&-escaped function names, `(x).pg_read_file` attribute notation).
 * Test: test/unit/serving/entity-sql-adversarial.test.ts and test/e2e/entity-sql-adversarial.suite.ts.
 */
import { sqlTokens } from './sql-tokens.ts';
import type { SqlToken } from './sql-tokens.ts';

export type EntitySqlCheck = { readonly ok: true; readonly sql: string } | { readonly ok: false; readonly reason: string };

/**
 * Words a SELECT must not contain, even inside a WITH (data-modifying CTEs) or as SELECT … INTO. Quoted,
 * they are identifiers and allowed. UESCAPE is here because the check decodes U&"…" names with the
 * default escape character only.
 */
const FORBIDDEN_WORDS = new Set([
  'insert', 'update', 'delete', 'merge', 'truncate', 'drop', 'alter', 'create', 'grant', 'revoke', 'copy',
  'call', 'do', 'vacuum', 'analyze', 'lock', 'listen', 'notify', 'unlisten', 'set', 'reset', 'prepare',
  'execute', 'deallocate', 'discard', 'refresh', 'reindex', 'cluster', 'comment', 'security', 'into', 'load',
  'uescape',
]);

/**
 * Functions that read the server's files, run SQL given as text, reach other servers or change state a
 * READ ONLY transaction does not protect (settings, statistics, locks, large objects, WAL, slots). Matched
 * against every name in the query, not only those followed by `(`: `(x).f` calls a one-argument f too.
 */
const FORBIDDEN_FUNCTIONS = [
  /^pg_read_/, /^pg_ls_/, /^pg_stat_file$/, /^pg_file_/, /^pg_logdir_ls$/,
  /^lo_(import|export|open|close|creat|create|unlink|get|put|from_bytea|lseek|lseek64|tell|tell64|truncate|truncate64)$/, /^lo(read|write)$/,
  /^dblink/, /^query_to_xml/, /^cursor_to_xml/, /^table_to_xml/, /^schema_to_xml/, /^database_to_xml/, /^ts_stat$/, /^ts_rewrite$/,
  /^set_config$/, /^pg_sleep/, /^pg_terminate_backend$/, /^pg_cancel_backend$/, /^pg_reload_conf$/, /^pg_rotate_logfile$/,
  /^pg_promote$/, /^pg_(try_)?advisory/, /^txid_/, /^pg_current_xact_id/, /^pg_notify$/, /^pg_switch_wal$/, /^pg_create_/, /^pg_drop_/,
  /^pg_replication_/, /replication_slot/, /^pg_copy_/, /^pg_logical_/, /^pg_log_/, /^pg_wal_replay_/, /^pg_(start|stop)_backup$/,
  /^pg_backup_/, /^pg_stat_(statements_)?reset/, /^pg_import_/, /^binary_upgrade_/, /^nextval$/, /^setval$/,
];

/** PostgreSQL's whitespace: trimmed from the query, where JavaScript's trim would also remove characters the server reads as letters. */
const EDGE_SPACE = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g;

export function checkEntitySql(input: string): EntitySqlCheck {
  const refuse = (reason: string): EntitySqlCheck => ({ ok: false, reason });
  // The server reads a query as a C string: text past a NUL would be checked here but never reach it.
  if (input.includes('\0')) return refuse('a NUL character');
  const lexed = sqlTokens(input);
  if (!lexed.ok) return refuse(lexed.reason);
  const { tokens } = lexed;
  // One statement: a single trailing semicolon (comments may follow it) is tolerated and removed.
  const semicolon = tokens.findIndex((t) => isChar(t, ';'));
  if (semicolon !== -1 && semicolon !== tokens.length - 1) return refuse('only one statement is allowed (found ";" in the middle)');
  const body = semicolon === -1 ? tokens : tokens.slice(0, semicolon);
  // The query becomes a CTE's body: a stray ")" would close it and let the rest rewrite the join around it.
  let depth = 0;
  for (const t of body) {
    if (isChar(t, '(')) depth++;
    else if (isChar(t, ')') && --depth < 0) return refuse('unbalanced parentheses (a ")" closes more than was opened)');
  }
  if (depth !== 0) return refuse('unbalanced parentheses (a "(" is never closed)');
  const first = body.find((t) => !isChar(t, '('));
  if (first?.kind !== 'word' || (first.text !== 'select' && first.text !== 'with')) {
    return refuse(`only SELECT or WITH … SELECT is allowed, not ${first === undefined ? 'an empty query' : describe(first)}`);
  }
  const word = body.find((t) => t.kind === 'word' && FORBIDDEN_WORDS.has(t.text));
  if (word?.kind === 'word') return refuse(`${word.text.toUpperCase()} is not allowed in entitySql`);
  for (const t of body) {
    if (t.kind !== 'word' && t.kind !== 'quoted') continue;
    const name = t.text.toLowerCase();
    if (FORBIDDEN_FUNCTIONS.some((f) => f.test(name))) return refuse(`function ${name}() is not allowed in entitySql`);
  }
  const sql = semicolon === -1 ? input : input.slice(0, tokens[semicolon]!.start);
  return { ok: true, sql: sql.replace(EDGE_SPACE, '') };
}

const isChar = (t: SqlToken, c: string): boolean => t.kind === 'char' && t.text === c;

function describe(t: SqlToken): string {
  if (t.kind === 'word') return t.text.toUpperCase();
  if (t.kind === 'quoted') return `the quoted identifier "${t.text}"`;
  if (t.kind === 'string') return 'a string';
  return JSON.stringify(t.text);
}
