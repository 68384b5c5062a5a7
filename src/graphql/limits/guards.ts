/**
 * Every request limit of the gateway, built once at start-up (docs/limits.md). In the order a /graphql
 * request meets them:
 *
 * 1. body size (HTTP layer, before the body is read): 413 BODY_TOO_LARGE;
 * 2. load shedding (HTTP layer, before the body is read): 503 OVERLOADED with Retry-After;
 * 3. rate limit per key (when the parameters are known): 429 RATE_LIMITED with Retry-After;
 * 4. trusted documents, when configured: PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_MISMATCH, UNTRUSTED_DOCUMENT;
 * 5. depth (validation): QUERY_TOO_DEEP;
 * 6. entity rows and cost (after validation, before execution): TOO_MANY_ENTITIES, QUERY_TOO_COSTLY.
 *
 * The cheap, whole-gateway protections come first, so that an overloaded gateway spends almost nothing
 * on what it refuses. Malformed requests are answered 4xx with a code throughout (useRequestErrors).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Counter } from 'prom-client';
import { gauge } from '../../ops/metrics.ts';
import type { Metrics } from '../../ops/metrics.ts';
import type { Registry } from '../../registry/registry.ts';
import { Admission } from './admission.ts';
import type { ShedReason } from './admission.ts';
import { declaredBodyTooLarge, useChunkedBodyLimit } from './body-size.ts';
import type { RequestLimits } from './options.ts';
import { refusalCounter, refusalResponse, writeRefusal } from './refusals.ts';
import type { RefusalResponse } from './refusals.ts';
import type { TrustedDocuments } from './trusted-documents.ts';
import { useDepthLimit } from './use-depth-limit.ts';
import { useQueryCost } from './use-query-cost.ts';
import { byPrincipalOrAddress, useRateLimit } from './use-rate-limit.ts';
import type { RateLimitKey } from './use-rate-limit.ts';
import { useRequestErrors } from './use-request-errors.ts';
import { useTrustedDocuments } from './use-trusted-documents.ts';

export const OVERLOADED = 'OVERLOADED';

export interface GuardOptions {
  readonly schema: GraphQLSchema;
  readonly registry: Registry;
  readonly limits: RequestLimits;
  /** Most entity rows per request (--max-entities). */
  readonly maxEntities: number;
  readonly metrics: Metrics;
  /** When set, only these documents run. */
  readonly trustedDocuments?: TrustedDocuments | undefined;
  /** What the rate limit counts by; default the principal, else the client address. */
  readonly rateLimitKey?: RateLimitKey | undefined;
}

export interface RequestGuards {
  /** yoga plugins, in the order they must run, before the gateway's own. */
  readonly plugins: readonly Plugin[];
  /**
   * Runs `handle` for a /graphql request once it may proceed, holding its slot until what `handle`
   * returns (yoga's handler: a promise, or a value when it answered synchronously) settles; otherwise
   * answers the refusal itself.
   */
  admit(req: IncomingMessage, res: ServerResponse, handle: () => unknown): void;
}

export function createRequestGuards(options: GuardOptions): RequestGuards {
  const { limits, metrics } = options;
  const refused: Counter<'code'> = refusalCounter(metrics);
  const admission = new Admission({ maxInFlight: limits.maxInFlight, maxQueued: limits.maxQueued, queueTimeoutMs: limits.queueTimeoutMs });
  // Read at scrape time: nothing per request.
  gauge(metrics, { name: 'skewless_graphql_in_flight', help: 'GraphQL requests being handled (at most --max-in-flight).', collect() { this.set(admission.inFlight); } });
  gauge(metrics, { name: 'skewless_graphql_queued', help: 'GraphQL requests waiting for a slot (at most --max-queued).', collect() { this.set(admission.queued); } });

  const plugins: Plugin[] = [useRequestErrors(), useChunkedBodyLimit(limits.maxBodyBytes)];
  if (limits.rateLimit > 0) plugins.push(useRateLimit({ ratePerSecond: limits.rateLimit, burst: limits.rateLimitBurst, keyOf: options.rateLimitKey ?? byPrincipalOrAddress, refused }));
  if (options.trustedDocuments !== undefined) plugins.push(useTrustedDocuments(options.trustedDocuments, refused));
  plugins.push(useDepthLimit(limits.maxDepth, refused));
  plugins.push(useQueryCost({ schema: options.schema, registry: options.registry, maxEntities: options.maxEntities, maxCost: limits.maxCost, refused }));

  const shedResponses: Readonly<Record<ShedReason, RefusalResponse>> = {
    queue_full: overloaded('queue_full', `${limits.maxInFlight} requests in flight and ${limits.maxQueued} waiting`),
    queue_timeout: overloaded('queue_timeout', `no slot freed within ${limits.queueTimeoutMs} ms`),
  };
  const shed = (res: ServerResponse) => (reason: ShedReason) => {
    refused.inc({ code: OVERLOADED });
    writeRefusal(res, shedResponses[reason]);
  };

  return {
    plugins,
    admit(req, res, handle) {
      const tooLarge = declaredBodyTooLarge(req, limits.maxBodyBytes);
      if (tooLarge !== undefined) {
        refused.inc({ code: tooLarge.code });
        writeRefusal(res, refusalResponse(tooLarge, { connection: 'close' }));
        return;
      }
      const waiting = admission.enter((release) => holdWhile(handle, release), shed(res));
      // A client that goes away while its request waits gives its place in the queue back.
      if (waiting !== undefined) res.once('close', waiting.cancel);
    },
  };
}

/** Runs `handle` and calls `release` once it has finished, however it finishes. */
function holdWhile(handle: () => unknown, release: () => void): void {
  let result: unknown;
  try {
    result = handle();
  } catch (error) {
    release();
    throw error;
  }
  // yoga's handler answers its own failures, so a rejection here is one it already reported.
  Promise.resolve(result).then(release, release);
}

function overloaded(reason: ShedReason, why: string): RefusalResponse {
  return refusalResponse({ code: OVERLOADED, message: `the gateway is at capacity (${why}); retry shortly`, status: 503, details: { reason }, retryAfterSeconds: 1 });
}
