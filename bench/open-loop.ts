/**
 * An open-loop load driver: requests are sent at a fixed rate whatever happens to earlier ones, as real
 * traffic arrives, over a pool of keep-alive connections. This is what overload looks like to a server;
 * a closed loop (load.ts) slows down with the server and can never offer more than it serves.
 *
 * Each millisecond tick sends what the schedule says is due. A request that finds no idle connection is
 * not sent and is counted (`unsent`): the pool is the client's limit, reported rather than hidden. Latency
 * is measured from the moment a request is written; how late that was against the schedule is reported
 * separately (`lagNs`), so a generator that falls behind shows in the report instead of in the latencies.
 */
import type { HttpConnection, HttpResponse } from './http-client.ts';

export interface OpenLoopOptions {
  readonly ratePerSecond: number;
  readonly durationMs: number;
  /** The encoded request (encodePost), sent as is every time. */
  readonly request: Buffer;
  readonly connections: readonly HttpConnection[];
  /** How long to wait for the last answers after the schedule ends, ms. Default 30000. */
  readonly drainMs?: number;
  /** Called when the schedule starts and ends (e.g. to read CPU counters). */
  readonly onWindow?: { readonly open: () => void; readonly close: () => void };
}

export interface OpenLoopResult {
  /** Requests the schedule called for. */
  readonly scheduled: number;
  /** Of those, not sent because every connection was busy. */
  readonly unsent: number;
  /** Answers by HTTP status. */
  readonly statuses: ReadonlyMap<number, number>;
  /** Requests that failed without an answer (connection errors, timeouts). */
  readonly failed: number;
  /** Latency of each answer, ns, by status. */
  readonly latencyNs: ReadonlyMap<number, Float64Array>;
  /** How late each send was against the schedule, ns. */
  readonly lagNs: Float64Array;
  /** Length of the schedule, ns. */
  readonly elapsedNs: number;
}

const now = () => process.hrtime.bigint();

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { ratePerSecond, durationMs, request } = options;
  const idle = [...options.connections];
  const capacity = Math.ceil((ratePerSecond * durationMs) / 1000) + 1;
  const lag = new Float64Array(capacity);
  const latencies = new Map<number, number[]>();
  const statuses = new Map<number, number>();
  let scheduled = 0;
  let unsent = 0;
  let failed = 0;
  let sent = 0;
  let pending = 0;
  let drained: (() => void) | undefined;

  const settle = (connection: HttpConnection) => {
    idle.push(connection);
    if (--pending === 0) drained?.();
  };
  const fire = (intended: bigint) => {
    const connection = idle.pop();
    if (connection === undefined) {
      unsent++;
      return;
    }
    const start = now();
    lag[sent++] = Number(start - intended);
    pending++;
    connection.send(request).then(
      (res: HttpResponse) => {
        const ns = Number(now() - start);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        let list = latencies.get(res.status);
        if (list === undefined) latencies.set(res.status, (list = []));
        list.push(ns);
        settle(connection);
      },
      () => {
        failed++;
        // A failed connection is not put back: it would fail every later send.
        if (--pending === 0) drained?.();
      },
    );
  };

  options.onWindow?.open();
  const begin = now();
  const end = begin + BigInt(durationMs) * 1_000_000n;
  const nsPerRequest = 1e9 / ratePerSecond;
  for (;;) {
    const t = now();
    const due = Math.min(capacity - 1, Math.floor(Number(t - begin) / nsPerRequest));
    while (scheduled < due) fire(begin + BigInt(Math.round(++scheduled * nsPerRequest)));
    if (t >= end) break;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  options.onWindow?.close();
  if (pending > 0) {
    const drainMs = options.drainMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (drained = resolve)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${pending} requests still unanswered ${drainMs} ms after the schedule ended`)), drainMs))),
    ]).finally(() => clearTimeout(timer));
  }
  return {
    scheduled,
    unsent,
    statuses,
    failed,
    latencyNs: new Map([...latencies].map(([status, list]) => [status, Float64Array.from(list)])),
    lagNs: lag.subarray(0, sent),
    elapsedNs: Number(end - begin),
  };
}
