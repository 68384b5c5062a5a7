/**
 * A gateway with authentication on, for the auth end-to-end tests: API keys made here (one per role set
 * asked for), written with the policy to a temporary directory, and read back through the same settings
 * and start-up code as `skewless serve --auth required`.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { startGatewayAuth } from '../../src/auth/gateway-auth.ts';
import type { Flags } from '../../src/config/config.ts';
import { resolveConfig } from '../../src/config/config.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { createLogger } from '../../src/ops/log.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { createGateway } from '../../src/server/gateway.ts';
import type { Stores } from '../../src/stores/open.ts';
import type { TransformPool } from '../../src/transforms/pool.ts';

export interface AuthGatewayOptions {
  /** Key id → roles: a key is made for each. */
  readonly keys: Readonly<Record<string, readonly string[]>>;
  /** The policy file's content; none: no --policy. */
  readonly policy?: unknown;
  /** More settings (introspection, jwtJwks, ...). */
  readonly flags?: Flags;
}

export interface AuthGateway {
  readonly base: string;
  /** Key id → the key. */
  readonly keys: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export async function startAuthGateway(registry: Registry, stores: Stores, transforms: TransformPool | undefined, options: AuthGatewayOptions): Promise<AuthGateway> {
  const dir = await mkdtemp(path.join(tmpdir(), 'skewless-auth-'));
  const keys: Record<string, string> = {};
  const lines: string[] = ['# made by test/helpers/auth-gateway.ts'];
  for (const [id, roles] of Object.entries(options.keys)) {
    const made = createApiKey(id, roles);
    keys[id] = made.key;
    lines.push(made.line);
  }
  const flags: Flags = { auth: 'required', apiKeys: path.join(dir, 'keys.jsonl'), ...options.flags };
  await writeFile(flags.apiKeys!, lines.join('\n') + '\n');
  if (options.policy !== undefined) {
    flags.policy = path.join(dir, 'policy.json');
    await writeFile(flags.policy, JSON.stringify(options.policy));
  }
  const logger = createLogger('error', () => {});
  const auth = await startGatewayAuth(resolveConfig(flags, {}).auth, registry, logger);
  const gateway = createGateway({
    registry,
    schema: buildSchema(registry),
    stores,
    transforms,
    limits: { maxEntities: 1000, maxPushRows: 10_000, maxHistoricalRows: 100_000, entitySqlTimeoutMs: 30_000 },
    logger,
    auth,
  });
  const url = await gateway.listen(0, '127.0.0.1');
  return {
    base: url.replace(/\/graphql$/, ''),
    keys,
    close: async () => {
      await gateway.close();
      auth.close();
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** One HTTP request, with `Authorization: Bearer <credential>` when a credential is given. */
export async function call(base: string, route: string, init: { credential?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(`${base}${route}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    redirect: 'manual',
    headers: { 'content-type': 'application/json', ...(init.credential === undefined ? {} : { authorization: `Bearer ${init.credential}` }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export interface GraphQLAnswer {
  readonly status: number;
  readonly text: string;
  readonly body: { data?: Record<string, any> | null; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A GraphQL operation posted with a credential; `text` is the raw body, for "no values in it" checks. */
export async function graphql(base: string, credential: string | undefined, query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
  const answer = await call(base, '/graphql', { credential, body: { query, variables }, headers: { accept: 'application/graphql-response+json, application/json' } });
  return { status: answer.status, text: answer.text, body: JSON.parse(answer.text) as GraphQLAnswer['body'] };
}
