/**
 * Load shedding: at most `maxInFlight` GraphQL requests are handled at once, up to `maxQueued` more wait
 * (first come, first served) for at most `queueTimeoutMs`, and anything beyond is refused at once.
 *
 * Why: the gateway is CPU-bound on one core (docs/benchmarks.md). Past its capacity, taking more work in
 * only makes every request slower — each one's latency grows with the number in flight — until clients
 * time out and retry and the gateway serves nobody. Refusing the excess immediately, before its body is
 * read, keeps the latency of what is admitted near the latency at capacity, and tells the refused clients
 * to come back (503 with Retry-After) while they still have time to.
 *
 * A slot is given back when the request's work is done, not when its client hangs up: the work goes on
 * after a client times out, and under overload clients time out in numbers.
 *
 * Callbacks rather than promises: the common case (a free slot) admits synchronously, with no allocation
 * beyond the release function. Timers exist only for requests that actually wait.
 */

export interface AdmissionOptions {
  /** Requests handled at once; 0 turns the limit off. */
  readonly maxInFlight: number;
  /** Requests that may wait for a slot; 0: none wait, all excess is refused. */
  readonly maxQueued: number;
  /** Longest a request waits for a slot before it is refused, ms. */
  readonly queueTimeoutMs: number;
}

/** Why a request was not admitted. */
export type ShedReason = 'queue_full' | 'queue_timeout';

/** What `enter` returns for a request that waits: a way to give up waiting (the client went away). */
export interface Waiting {
  /** Takes the request out of the queue if it is still waiting; does nothing once it was admitted or refused. */
  cancel(): void;
}

interface Waiter {
  readonly admit: (release: () => void) => void;
  readonly refuse: (reason: ShedReason) => void;
  timer: NodeJS.Timeout | undefined;
  /** Cleared once the waiter has been admitted, refused or cancelled. */
  waiting: boolean;
}

const NOTHING_TO_RELEASE = () => {};

export class Admission {
  readonly #options: AdmissionOptions;
  #inFlight = 0;
  // FIFO. Cancelled waiters stay in place with waiting = false and are skipped when reached, so leaving
  // the queue is O(1); `#queued` counts only the live ones. Dead entries are dropped by #compact.
  #queue: (Waiter | undefined)[] = [];
  #head = 0;
  #queued = 0;

  constructor(options: AdmissionOptions) {
    for (const name of ['maxInFlight', 'maxQueued', 'queueTimeoutMs'] as const) {
      if (!Number.isInteger(options[name]) || options[name] < 0) throw new RangeError(`${name} must be a non-negative integer, got ${options[name]}`);
    }
    this.#options = options;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queued;
  }

  /**
   * Asks for a slot. `admit` is called once the slot is the request's — synchronously when one is free —
   * with the function that gives it back, to be called when the request's work is done (more than once
   * is harmless). `refuse` is called when it will not get one: synchronously when the queue is full, or
   * after `queueTimeoutMs` of waiting. Returns undefined unless the request waits in the queue.
   */
  enter(admit: (release: () => void) => void, refuse: (reason: ShedReason) => void): Waiting | undefined {
    const { maxInFlight, maxQueued, queueTimeoutMs } = this.#options;
    if (maxInFlight === 0) {
      admit(NOTHING_TO_RELEASE);
      return undefined;
    }
    if (this.#inFlight < maxInFlight) {
      this.#inFlight++;
      admit(this.#releaser());
      return undefined;
    }
    if (this.#queued >= maxQueued) {
      refuse('queue_full');
      return undefined;
    }
    const waiter: Waiter = { admit, refuse, timer: undefined, waiting: true };
    waiter.timer = setTimeout(() => {
      if (!waiter.waiting) return;
      this.#leaveQueue(waiter);
      refuse('queue_timeout');
    }, queueTimeoutMs);
    this.#compact();
    this.#queue.push(waiter);
    this.#queued++;
    return {
      cancel: () => {
        if (waiter.waiting) this.#leaveQueue(waiter);
      },
    };
  }

  #releaser(): () => void {
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#inFlight--;
      this.#admitNext();
    };
  }

  #leaveQueue(waiter: Waiter): void {
    waiter.waiting = false;
    clearTimeout(waiter.timer);
    this.#queued--;
  }

  /** Hands a freed slot to the longest-waiting live request, if any. */
  #admitNext(): void {
    while (this.#head < this.#queue.length) {
      const waiter = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined;
      if (waiter === undefined || !waiter.waiting) continue;
      this.#leaveQueue(waiter);
      this.#inFlight++;
      waiter.admit(this.#releaser());
      break;
    }
    this.#compact();
  }

  /**
   * Drops consumed and cancelled entries once they outnumber the live ones: with requests stuck in flight
   * and waiters timing out, nothing is ever shifted off the queue, and it must not grow without bound.
   */
  #compact(): void {
    if (this.#queue.length - this.#head <= 2 * this.#queued + 64) return;
    this.#queue = this.#queue.slice(this.#head).filter((w) => w !== undefined && w.waiting);
    this.#head = 0;
  }
}
