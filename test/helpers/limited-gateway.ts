/**
 * A gateway on embedded stores with the request limits a test chooses, for the limits' end-to-end tests:
 * its log lines are kept, its schema may carry extra fields (a resolver that fails on purpose), and its
 * online store may be wrapped (to count or hold reads).
 */
import type { GraphQLSchema } from 'graphql';
import { DEFAULT_REQUEST_LIMITS } from '../../src/graphql/limits/options.ts';
import type { RequestLimits } from '../../src/graphql/limits/options.ts';
import type { TrustedDocuments } from '../../src/graphql/limits/trusted-documents.ts';
import type { RateLimitKey } from '../../src/graphql/limits/use-rate-limit.ts';
import { createLogger } from '../../src/ops/log.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Registry } from '../../src/registry/registry.ts';
import { createGateway } from '../../src/server/gateway.ts';
import type { Stores } from '../../src/stores/open.ts';

export interface LimitedGatewayOptions {
  readonly registry: Registry;
  readonly schema: GraphQLSchema;
  readonly stores: Stores;
  readonly requestLimits?: Partial<RequestLimits>;
  /** --max-entities; default 1000. */
  readonly maxEntities?: number;
  readonly trustedDocuments?: TrustedDocuments;
  readonly rateLimitKey?: RateLimitKey;
  readonly maskErrors?: boolean;
}

export interface LimitedGateway {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** Every log line written so far, parsed. */
  readonly lines: readonly Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startLimitedGateway(options: LimitedGatewayOptions): Promise<LimitedGateway> {
  const lines: Record<string, unknown>[] = [];
  const gateway = createGateway({
    registry: options.registry,
    schema: options.schema,
    stores: options.stores,
    limits: { maxEntities: options.maxEntities ?? 1000, maxPushRows: 1000, maxHistoricalRows: 1000, entitySqlTimeoutMs: 5000 },
    logger: createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    metrics: createMetrics({ defaults: false }),
    requestLimits: { ...DEFAULT_REQUEST_LIMITS, ...options.requestLimits },
    trustedDocuments: options.trustedDocuments,
    rateLimitKey: options.rateLimitKey,
    ...(options.maskErrors === undefined ? {} : { maskErrors: options.maskErrors }),
  });
  const base = (await gateway.listen(0, '127.0.0.1')).replace(/\/graphql$/, '');
  return { base, lines, close: () => gateway.close() };
}

export interface GraphQLAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { data?: Record<string, any>; errors?: { message: string; extensions?: Record<string, unknown> }[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** POSTs a JSON body to /graphql as an `application/json` client (the Accept most plain clients send). */
export async function postJson(base: string, body: unknown, headers: Readonly<Record<string, string>> = {}): Promise<GraphQLAnswer> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLAnswer['body'] };
}
