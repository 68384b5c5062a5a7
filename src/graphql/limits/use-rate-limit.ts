/**
 * `useRateLimit`: each key (by default the authenticated principal, or the client's address when the
 * request is anonymous) may make `rateLimit` requests per second with bursts of `burst`; beyond, 429
 * RATE_LIMITED with Retry-After.
 *
 * It runs before yoga reads the request's body, so a client over its limit costs a Map lookup. The refusal
 * is thrown, which yoga answers with the error's status and headers. (Load shedding, which protects the
 * gateway as a whole, runs earlier still, before yoga: see guards.ts.)
 */
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { principalOf } from '../../auth/principal.ts';
import type { Counter } from 'prom-client';
import { refusalError, retryAfterSeconds } from './refusals.ts';
import { TokenBuckets } from './token-bucket.ts';

export const RATE_LIMITED = 'RATE_LIMITED';

/**
 * What requests are counted by: the request's server context (what the gateway hands yoga, with the Node
 * request as `req` and the authenticated principal) in, a key out (undefined: one key shared by all such).
 */
export type RateLimitKey = (context: Readonly<Record<string, unknown>>) => string | undefined;

/**
 * The default key: the principal the gateway authenticated (auth/principal.ts), else the address the
 * request came from (yoga's server context carries the Node request as `req`). Behind a load balancer
 * every anonymous request comes from its address: there, authenticate, or pass a key of your own.
 */
export const byPrincipalOrAddress: RateLimitKey = (context) => {
  const principal = principalOf(context);
  if (principal !== undefined) return `principal:${principal.id}`;
  const address = (context.req as IncomingMessage | undefined)?.socket.remoteAddress;
  return address === undefined ? undefined : `address:${address}`;
};

export interface RateLimitOptions {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly keyOf: RateLimitKey;
  readonly refused: Counter<'code'>;
  /** Clock for the buckets, ms; default performance.now. */
  readonly now?: () => number;
}

export function useRateLimit(options: RateLimitOptions): Plugin {
  const buckets = new TokenBuckets({ ratePerSecond: options.ratePerSecond, burst: options.burst, ...(options.now === undefined ? {} : { now: options.now }) });
  const limit = `${options.ratePerSecond} requests per second with bursts of ${options.burst} (--rate-limit, --rate-limit-burst)`;
  return {
    onRequestParse({ serverContext }) {
      const taken = buckets.take(options.keyOf(serverContext as Readonly<Record<string, unknown>>) ?? '');
      if (taken.ok) return;
      options.refused.inc({ code: RATE_LIMITED });
      throw refusalError({
        code: RATE_LIMITED,
        message: `too many requests: the limit is ${limit}; retry in ${taken.retryAfterMs} ms`,
        status: 429,
        details: { retryAfterMs: taken.retryAfterMs },
        retryAfterSeconds: retryAfterSeconds(taken.retryAfterMs),
      });
    },
  };
}
