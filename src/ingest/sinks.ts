/**
 * Where `skewless ingest` writes in its second pass: the configured stores (through the same writeRows as
 * the pushFeatures mutation), or a running gateway's pushFeatures over HTTP.
 */
import type { Config } from '../config/config.ts';
import { redactUrl } from '../config/config.ts';
import { SkewlessError } from '../errors.ts';
import type { Registry } from '../registry/registry.ts';
import type { Entity, RowView } from '../registry/types.ts';
import { closeStores, openStores } from '../stores/open.ts';
import { RedisOnlineStore } from '../stores/redis/online.ts';
import { writeRows } from './push.ts';
import type { PushResult } from './push.ts';
import type { FeatureRow } from './rows.ts';

/** Where pass 2 writes: the configured stores, or a running gateway. */
export interface Sink {
  /** For the start-up note, e.g. `offline postgres://…, online redis://…`. */
  readonly description: string;
  write(rows: readonly FeatureRow[]): Promise<PushResult>;
  close(): Promise<void>;
}

export async function storeSink(config: Config, registry: Registry, view: RowView): Promise<Sink> {
  const stores = await openStores(config);
  try {
    // The Redis client connects in the background, and writes are not queued while it is connecting.
    if (stores.online instanceof RedisOnlineStore) await stores.online.waitUntilReady();
    await stores.offline.ensureSchema(registry);
  } catch (error) {
    await closeStores(stores);
    throw new SkewlessError('STORE_UNAVAILABLE', `cannot open the stores: ${error instanceof Error ? error.message : String(error)}`, { retriable: true, cause: error });
  }
  const offline = config.databaseUrl === undefined ? `pglite ${config.pgliteDir}` : redactUrl(config.databaseUrl);
  return {
    description: `offline ${offline}, online ${config.redisUrl === undefined ? 'memory' : redactUrl(config.redisUrl)}`,
    write: (rows) => writeRows(stores, view, rows),
    close: () => closeStores(stores),
  };
}

const PUSH = 'mutation SkewlessIngest($view: String!, $rows: [JSON!]!) { pushFeatures(view: $view, rows: $rows) { view rows onlineWritten onlineKept } }';

/** `apiKey`: sent as `Authorization: Bearer` when the gateway requires credentials (docs/security.md). */
export async function gatewaySink(endpoint: URL, view: RowView, entity: Entity, apiKey?: string): Promise<Sink> {
  const url = endpoint.toString();
  // Reachable and answering GraphQL, checked before pass 1 like the stores are.
  await postGraphQL(url, 'query SkewlessIngestProbe { __typename }', {}, apiKey);
  return {
    description: `gateway ${redactUrl(url)}`,
    write: async (rows) => {
      const data = await postGraphQL(url, PUSH, { view: view.name, rows: rows.map((r) => pushRow(view, entity, r)) }, apiKey);
      return data.pushFeatures as PushResult;
    },
    close: async () => {},
  };
}

/**
 * A validated row as the mutation takes it. created_timestamp is always sent: left out, the gateway would
 * stamp each batch with its own arrival time, and one ingest would not have one arrival time.
 */
function pushRow(view: RowView, entity: Entity, row: FeatureRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  entity.joinKeys.forEach((key, i) => (out[key.name] = key.type.scalar === 'Int' ? Number(row.keyValues[i]) : row.keyValues[i]));
  out.event_timestamp = row.eventTs;
  out.created_timestamp = row.createdTs;
  for (const f of view.features) out[f.name] = row.values[f.name];
  return out;
}

/** One GraphQL request; the gateway's first error becomes a SkewlessError with its code. */
async function postGraphQL(url: string, query: string, variables: Record<string, unknown>, apiKey: string | undefined): Promise<Record<string, unknown>> {
  let res: Response;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, DNS) is its cause.
    const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new SkewlessError('GATEWAY_UNREACHABLE', `cannot reach the gateway at ${redactUrl(url)}: ${reason}`, { retriable: true, cause: error });
  }
  let body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new SkewlessError('GATEWAY_ERROR', `${redactUrl(url)} answered HTTP ${res.status} without a GraphQL response; is it a Skewless gateway's /graphql endpoint?`);
  }
  const first = body.errors?.[0];
  if (first !== undefined) {
    const more = body.errors!.length > 1 ? ` (and ${body.errors!.length - 1} more errors)` : '';
    const code = typeof first.extensions?.code === 'string' ? first.extensions.code : 'GATEWAY_ERROR';
    throw new SkewlessError(code, `${first.message}${more}`, { retriable: first.extensions?.retriable === true, details: first.extensions });
  }
  if (body.data == null) throw new SkewlessError('GATEWAY_ERROR', `${redactUrl(url)} answered HTTP ${res.status} with neither data nor errors`);
  return body.data;
}
