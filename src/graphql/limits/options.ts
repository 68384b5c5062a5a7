/**
 * The gateway's request limits (docs/limits.md), as resolved from the settings. The defaults are the
 * settings table's, resolved by the same code as `skewless serve`'s, so a gateway created without limits
 * (tests, embedding) is limited exactly as `skewless serve` is by default.
 */
import { resolveConfig } from '../../config/config.ts';
import type { Config } from '../../config/config.ts';

/** The limits the gateway enforces; each documented, with its default, on Config and in docs/limits.md. */
export type RequestLimits = Pick<Config, 'maxDepth' | 'maxCost' | 'maxBodyBytes' | 'rateLimit' | 'rateLimitBurst' | 'maxInFlight' | 'maxQueued' | 'queueTimeoutMs'>;

export function requestLimitsOf(config: Config): RequestLimits {
  return {
    maxDepth: config.maxDepth,
    maxCost: config.maxCost,
    maxBodyBytes: config.maxBodyBytes,
    rateLimit: config.rateLimit,
    rateLimitBurst: config.rateLimitBurst,
    maxInFlight: config.maxInFlight,
    maxQueued: config.maxQueued,
    queueTimeoutMs: config.queueTimeoutMs,
  };
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze(requestLimitsOf(resolveConfig({}, {})));
