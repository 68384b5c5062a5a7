/**
 * How the limits refuse a request, in one shape wherever the refusal happens: a GraphQL error response
 * (`{"errors": [{"message", "extensions": {"code", ...details}}]}`) with the HTTP status that says why, a
 * `Retry-After` header when waiting helps, and one count in `skewless_requests_refused_total{code}`.
 *
 * Refusals made inside yoga carry their status in the error's `http` extension, which yoga turns into
 * the response status and headers (and strips from the body); the gateway's HTTP-level refusals (body too
 * large, overloaded) write the same body themselves, before yoga or any parsing.
 */
import { GraphQLError } from 'graphql';
import type { ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import { counter } from '../../ops/metrics.ts';
import type { Metrics } from '../../ops/metrics.ts';

export interface Refusal {
  readonly code: string;
  readonly message: string;
  readonly status: number;
  /** Extra machine-readable detail (limit, cost, ...), next to the code in `extensions`. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Seconds a client should wait before trying again; sent as Retry-After. */
  readonly retryAfterSeconds?: number;
}

/** The refusal as a GraphQL error yoga answers with `status` (whatever the client's Accept header). */
export function refusalError(refusal: Refusal): GraphQLError {
  const headers = refusal.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(refusal.retryAfterSeconds) };
  return new GraphQLError(refusal.message, {
    extensions: {
      code: refusal.code,
      retriable: refusal.retryAfterSeconds !== undefined,
      ...(refusal.details ?? {}),
      http: { status: refusal.status, ...(headers === undefined ? {} : { headers }) },
    },
  });
}

/** A refusal as a complete HTTP response, for refusals made before yoga sees the request. */
export interface RefusalResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: Buffer;
}

/**
 * The response for a refusal. Load shedding builds its responses once at start-up and writes the same
 * bytes every time: under overload, what a refusal costs is taken from the requests being served.
 */
export function refusalResponse(refusal: Refusal, extraHeaders: Readonly<Record<string, string>> = {}): RefusalResponse {
  const body = Buffer.from(
    JSON.stringify({
      errors: [{ message: refusal.message, extensions: { code: refusal.code, retriable: refusal.retryAfterSeconds !== undefined, ...(refusal.details ?? {}) } }],
    }),
  );
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    ...(refusal.retryAfterSeconds === undefined ? {} : { 'retry-after': String(refusal.retryAfterSeconds) }),
    ...extraHeaders,
  };
  return { status: refusal.status, headers, body };
}

export function writeRefusal(res: ServerResponse, response: RefusalResponse): void {
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

/** Seconds for Retry-After: whole seconds, rounded up, at least 1 (0 would invite an immediate retry storm). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** The refusal counter, registered once per gateway. */
export function refusalCounter(metrics: Metrics): Counter<'code'> {
  return counter(metrics, {
    name: 'skewless_requests_refused_total',
    help: 'Requests the gateway refused before executing them because of a limit, by error code (docs/limits.md).',
    labelNames: ['code'],
  });
}
