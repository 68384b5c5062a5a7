/**
 * What PostgreSQL spends inserting new tile rows, taken apart: the product's statement (insertNewPiecesSql)
 * beside variants that each leave one part out, for finding where a stream of many new entities spends
 * PostgreSQL's time (docs/benchmarks.md#where-postgresql-goes).
 *
 *   DATABASE_URL=postgres://… node bench/pieces-insert.ts
 *
 * In a fresh database (dropped after), each round inserts ROWS new rows of random entities (as a commit of
 * a million users does) with each variant into its own table, which grows round by round as the tiles table
 * of a run does:
 *
 *   product      insertNewPiecesSql as the materializer sends it (ordered, on conflict do nothing, the answer)
 *   plain        the same insert without the answer
 *   unordered    nor the order (which keeps two writers inserting the same new rows from deadlocking)
 *   noconflict   without `on conflict` or the order (the primary key still checks uniqueness)
 *   unlogged     the same into an unlogged table: no WAL
 *   heaponly     into a table without the primary key: no index
 *   parseonly    no insert: only the parameters unpacked (and sent)
 *   staged       the rows sent by binary COPY to a temporary table (emptied at commit), then the product's
 *                insert from it (ordered, on conflict do nothing, a count), in one transaction: what a
 *                staged insert would cost instead of the parameters (not what the materializer does)
 *
 * Figures are the client's wall time per row (PostgreSQL's work, the parameters' encoding and the socket):
 * PostgreSQL does the rest of nothing meanwhile.
 */
import pg from 'pg';
import { copyBinaryFrom } from '../src/stores/postgres/copy-from.ts';
import { BinaryCopyWriter } from '../src/stores/sql/copy-binary.ts';
import { insertNewPiecesSql } from '../src/stores/sql/materializer-tables.ts';
import { runDatabase } from './database.ts';

const ROWS = Number(process.env.ROWS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const PARTIAL = '{"tx_count_24h":3,"tx_amount_24h":[3,"6e4ccccccccccdp-48"],"unique_merchants_7d":["m_000123","m_004567","m_000042"],"$events":[1795401323812,1795401542893]}';
const COLUMNS = 'entity_key text not null, width bigint not null, tile_start bigint not null, partial text not null, version bigint not null default 0';
const KEY = 'primary key (entity_key, width, tile_start)';
const ROWS_FROM = 'rows from (unnest($1::text[]), unnest($2::bigint[]), unnest($3::bigint[]), unnest(string_to_array($4::text, chr(30)))) as u(k, w, s, p)';

const TABLES: Record<string, string> = {
  product: `create table t_product (${COLUMNS}, ${KEY}) with (fillfactor = 80)`,
  plain: `create table t_plain (${COLUMNS}, ${KEY}) with (fillfactor = 80)`,
  staged: `create table t_staged (${COLUMNS}, ${KEY}) with (fillfactor = 80)`,
  unordered: `create table t_unordered (${COLUMNS}, ${KEY}) with (fillfactor = 80)`,
  noconflict: `create table t_noconflict (${COLUMNS}, ${KEY}) with (fillfactor = 80)`,
  unlogged: `create unlogged table t_unlogged (${COLUMNS}, ${KEY}) with (fillfactor = 80)`,
  heaponly: `create table t_heaponly (${COLUMNS})`,
};
/** Each variant's statement, from the product's (for its table). */
const VARIANTS: Record<string, (product: string) => string> = {
  product: (sql) => sql,
  plain: () => `insert into t_plain select k, w, s, p, $5 from ${ROWS_FROM} order by k, w, s on conflict do nothing`,
  unordered: () => `insert into t_unordered select k, w, s, p, $5 from ${ROWS_FROM} on conflict do nothing`,
  noconflict: () => `insert into t_noconflict select k, w, s, p, $5 from ${ROWS_FROM}`,
  unlogged: () => `insert into t_unlogged select k, w, s, p, $5 from ${ROWS_FROM}`,
  heaponly: () => `insert into t_heaponly select k, w, s, p, $5 from ${ROWS_FROM}`,
  parseonly: () => `select count(*), max($5::bigint) from ${ROWS_FROM}`,
  staged: () => '',
};

/** The staged variant: COPY into a temporary table, then insert from it, in one transaction. */
async function staged(pieces: readonly { entityKey: string; width: number; start: number }[]): Promise<void> {
  const writer = new BinaryCopyWriter(64 + pieces.length * (48 + PARTIAL.length));
  for (const p of pieces) writer.row(4).text(p.entityKey).int64(p.width).int64(p.start).text(PARTIAL);
  await client.query('begin');
  await client.query('create temp table if not exists stage (entity_key text, width bigint, tile_start bigint, partial text) on commit delete rows');
  await copyBinaryFrom(client as unknown as pg.PoolClient, 'stage', writer.finish());
  await client.query('with inserted as (insert into t_staged select entity_key, width, tile_start, partial, 1 from stage order by 1, 2, 3 on conflict do nothing returning 1) select count(*) from inserted');
  await client.query('commit');
}

const database = await runDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 'pieces_insert');
const client = new pg.Client(database.url);
try {
  await client.connect();
  for (const ddl of Object.values(TABLES)) await client.query(ddl);
  const totals = new Map<string, number>();
  let start = 1_795_400_000_000;
  for (let round = 0; round < ROUNDS; round++) {
    // Variants take turns going first: none always runs on a warmer server.
    const names = Object.keys(VARIANTS);
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    for (const name of order) {
      const pieces = Array.from({ length: ROWS }, () => ({ entityKey: `u_${Math.floor(Math.random() * 1e12)}`, width: 3_600_000, start: start++ }));
      const { sql, params } = insertNewPiecesSql('t_product', pieces, pieces.map(() => PARTIAL), 1);
      const began = process.hrtime.bigint();
      if (name === 'staged') await staged(pieces);
      else await client.query(VARIANTS[name]!(sql), name === 'product' ? params : params.slice(0, 5));
      totals.set(name, (totals.get(name) ?? 0) + Number(process.hrtime.bigint() - began) / 1e3);
    }
  }
  console.log(`| variant | µs per row (${ROUNDS} rounds of ${ROWS.toLocaleString('en-US')} rows) |\n| --- | --- |`);
  for (const name of Object.keys(VARIANTS)) console.log(`| ${name} | ${(totals.get(name)! / (ROUNDS * ROWS)).toFixed(2)} |`);
} finally {
  await client.end();
  await database.drop();
}
