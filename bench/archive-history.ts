/**
 * `--archive-events N`: the materializer bench's database given a history before the run, so that its
 * commits write into an archive the size of one that has been running for a while, not an empty one.
 *
 * Why it matters: every archived event adds an entry to each of the archive's per-view indexes (the
 * (join keys, event time) btrees that historical retrieval reads a window's head through), and what an
 * entry costs grows with the index (docs/benchmarks.md, "An archive with history"). A run into an empty
 * archive measures the cheapest case there is.
 *
 * The history is made in SQL, not produced through Kafka (ten million events would take the materializer
 * minutes): the run's own users and merchants, with the same skew as `transactions` (materializer-fixture.ts),
 * spread evenly over the 30 days before the run, on a topic of their own (`<id>_history`), so the run's
 * archive marks and offsets start from nothing. Only the archive is filled: the tiles of that history
 * are not computed, so the tile tables hold the run's tiles alone.
 */
import pg from 'pg';
import type { Registry } from '../src/registry/registry.ts';
import { openStores, closeStores } from '../src/stores/open.ts';
import type { Config } from '../src/config/config.ts';
import type { EventSource } from '../src/registry/types.ts';
import { SCHEMA } from '../src/stores/sql/history.ts';
import { eventsTable } from '../src/stores/sql/materializer-tables.ts';
import type { Population } from './materializer-fixture.ts';

const HISTORY_DAYS = 30;

/** The topic the history is archived under (the run's own is `<id>_transactions`). */
export const historyTopic = (id: string): string => `${id}_history`;

/** The columns the history fills: the example's Transaction source, as `transactions` spells its events. */
const COLUMNS = ['user_id', 'merchant_id', 'amount', 'country', 'event_time'];

/**
 * Creates the registry's tables in the database `config` names (as the materializer would at start) and
 * archives `events` transactions of history into them. The archive's secondary indexes are dropped for the
 * load and built again after it, as a restore would: the same indexes, each packed as a fresh build packs it.
 */
export async function archiveHistory(config: Config, registry: Registry, source: EventSource, id: string, events: number, population: Population): Promise<void> {
  const missing = COLUMNS.filter((c) => !source.fields.some((f) => f.name === c));
  if (missing.length > 0) throw new Error(`--archive-events fills the example's Transaction source; ${source.name} has no ${missing.join(', ')}`);
  const stores = await openStores(config);
  try {
    await stores.offline.ensureSchema(registry);
  } finally {
    await closeStores(stores);
  }
  const table = eventsTable(source.name);
  const client = new pg.Client({ connectionString: config.databaseUrl! });
  await client.connect();
  try {
    await client.query(`set maintenance_work_mem = '512MB'`);
    const { rows: indexes } = await client.query<{ name: string; definition: string }>(
      `select i.indexname as name, i.indexdef as definition from pg_indexes i join pg_index x on x.indexrelid = format('%I.%I', i.schemaname, i.indexname)::regclass ` +
        `where format('%I.%I', i.schemaname, i.tablename)::regclass = $1::regclass and not x.indisprimary`,
      [table],
    );
    for (const index of indexes) await client.query(`drop index ${SCHEMA}.${pg.escapeIdentifier(index.name)}`);
    // Offsets count up per partition and event times with them, as a topic keyed by user would archive them.
    await client.query(
      `insert into ${table} (_topic, _partition, _offset, user_id, merchant_id, amount, country, event_time) ` +
        `select $1::text, i % 3, i / 3, $2::text || '-u' || floor(random() * $4::int)::int, $2 || '-m' || floor(random() ^ 2 * $5::int)::int, ` +
        `round(exp(2 + 3 * random())::numeric, 2)::float8, case when i % 10 = 0 then null else (array['DE','FR','GB','US','NL','ES','IT','PL'])[1 + i % 8] end, ` +
        `now() - interval '${HISTORY_DAYS} days' + i * (interval '${HISTORY_DAYS} days' - interval '1 hour') / $3::int ` +
        `from generate_series(0, $3::int - 1) as i`,
      [historyTopic(id), id, events, population.users, population.merchants],
    );
    for (const index of indexes) await client.query(index.definition);
    await client.query(`vacuum analyze ${table}`);
  } finally {
    await client.end();
  }
}
