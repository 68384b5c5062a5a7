/**
 * Token buckets, one per key (a principal or a client address): each holds up to `burst` tokens, refills
 * at `ratePerSecond`, and a request takes one. Pure apart from the clock, which is injected.
 *
 * Memory is bounded two ways. A bucket idle long enough to have refilled completely is indistinguishable
 * from a new one, so it is dropped: every `take` looks at the least recently used buckets and drops those
 * that are full again (the Map keeps keys in last-use order because `take` re-inserts the key it touches).
 * And past `maxKeys` live buckets the least recently used is dropped even though it is not full: under a
 * flood of distinct keys memory stays bounded, at the price of that one key getting a fresh bucket early.
 */

export interface TokenBucketOptions {
  /** Tokens added per second; > 0. */
  readonly ratePerSecond: number;
  /** Most tokens a bucket holds: the requests a quiet key may send at once; >= 1. */
  readonly burst: number;
  /** Most buckets kept at once. Default DEFAULT_MAX_KEYS. */
  readonly maxKeys?: number;
  /** Clock in milliseconds. Default performance.now: monotonic, so a wall-clock step cannot refill buckets. */
  readonly now?: () => number;
}

/** Buckets kept before the least recently used is dropped: ~100 bytes each, so ~10 MB at most. */
export const DEFAULT_MAX_KEYS = 100_000;

/** How many of the least recently used buckets each `take` checks for being full again: enough to keep up, O(1). */
const SWEEP_PER_TAKE = 2;

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms on the injected clock. */
  at: number;
}

const ADMITTED: TakeResult = Object.freeze({ ok: true });

export class TokenBuckets {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** How long an untouched bucket takes to refill from empty, ms: past this it is as good as new. */
  readonly #refillMs: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${options.ratePerSecond}`);
    if (!(options.burst >= 1)) throw new RangeError(`burst must be >= 1, got ${options.burst}`);
    this.#perMs = options.ratePerSecond / 1000;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.#now = options.now ?? (() => performance.now());
    this.#refillMs = this.#burst / this.#perMs;
  }

  /** Takes one token from `key`'s bucket, or says how long until one is there. */
  take(key: string): TakeResult {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, at: now };
    } else {
      this.#buckets.delete(key);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
    }
    // Re-inserted at the end: the Map's order is least recently used first.
    this.#buckets.set(key, bucket);
    this.#sweep(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return ADMITTED;
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.#perMs) };
  }

  /** Buckets currently held (for tests and the docs' memory bound). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    let checked = 0;
    for (const [key, bucket] of this.#buckets) {
      const over = this.#buckets.size > this.#maxKeys;
      if (!over && (checked++ >= SWEEP_PER_TAKE || now - bucket.at < this.#refillMs)) return;
      this.#buckets.delete(key);
    }
  }
}
