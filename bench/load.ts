/**
 * Closed-loop load drivers: one client issuing requests back to back (latency), and N clients each keeping
 * one request in flight (throughput at saturation). Every loop is bounded by a count and by time.
 */

export type Operation = () => Promise<unknown>;

const now = () => process.hrtime.bigint();

export interface SequentialOptions {
  /** Requests sent first and not recorded (JIT, connection and cache warm-up). */
  readonly warmup: number;
  /** Requests recorded. */
  readonly count: number;
  /** Stop recording after this long even if `count` is not reached, ms. */
  readonly maxMs: number;
  /** Called when recording starts and ends (e.g. to read CPU counters). */
  readonly onWindow?: { readonly open: () => void; readonly close: () => void };
}

export interface SequentialResult {
  /** One duration per recorded request, ns. */
  readonly durationsNs: Float64Array;
  /** True when `maxMs` ended the run before `count`. */
  readonly truncated: boolean;
}

export async function sequential(op: Operation, options: SequentialOptions): Promise<SequentialResult> {
  const warmupDeadline = now() + BigInt(options.maxMs) * 1_000_000n;
  for (let i = 0; i < options.warmup && now() < warmupDeadline; i++) await op();
  const durations = new Float64Array(options.count);
  options.onWindow?.open();
  const deadline = now() + BigInt(options.maxMs) * 1_000_000n;
  let n = 0;
  while (n < options.count) {
    const start = now();
    if (start >= deadline) break;
    await op();
    durations[n++] = Number(now() - start);
  }
  options.onWindow?.close();
  return { durationsNs: durations.subarray(0, n), truncated: n < options.count };
}

export interface SaturationOptions {
  /** Requests kept in flight, one per worker. */
  readonly concurrency: number;
  /** Load before the measured window, ms. */
  readonly warmupMs: number;
  /** The measured window, ms. */
  readonly durationMs: number;
  /** Most requests recorded; the window ends early when reached. */
  readonly maxRequests: number;
  /** Called when the measured window opens and closes (e.g. to read CPU counters). */
  readonly onWindow?: { readonly open: () => void; readonly close: () => void };
}

export interface SaturationResult {
  /** Requests completed inside the window, whoever started them: unbiased for a closed loop. */
  readonly completed: number;
  readonly elapsedNs: number;
  /** Durations of the requests that both started and finished inside the window, ns. */
  readonly durationsNs: Float64Array;
}

/** Runs `concurrency` workers; `worker(i)` gives worker i its operation (e.g. over its own connection). */
export async function saturate(worker: (index: number) => Operation, options: SaturationOptions): Promise<SaturationResult> {
  const begin = now();
  const opensAt = begin + BigInt(options.warmupMs) * 1_000_000n;
  let closesAt = opensAt + BigInt(options.durationMs) * 1_000_000n;
  let opened: bigint | undefined;
  let closed = false;
  let completed = 0;
  const durations = new Float64Array(options.maxRequests);
  let n = 0;

  const close = (at: bigint) => {
    if (closed) return;
    closed = true;
    closesAt = at;
    options.onWindow?.close();
  };
  const run = async (op: Operation) => {
    for (;;) {
      const start = now();
      if (start >= closesAt) return close(closesAt);
      if (opened === undefined && start >= opensAt) {
        opened = start;
        options.onWindow?.open();
      }
      await op();
      const end = now();
      if (opened === undefined || end >= closesAt) continue;
      completed++;
      if (start >= opened) durations[n++] = Number(end - start);
      if (n === durations.length) close(end);
    }
  };

  // Bounds the whole run: a stuck request must fail the bench, not hang it.
  const limitMs = options.warmupMs + options.durationMs + 30_000;
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`saturation run did not finish within ${limitMs} ms`)), limitMs);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: options.concurrency }, (_, i) => run(worker(i)))), watchdog]);
  } finally {
    clearTimeout(timer);
  }
  if (opened === undefined) throw new Error('saturation run ended before its measured window opened');
  return { completed, elapsedNs: Number(closesAt - opened), durationsNs: durations.subarray(0, n) };
}
