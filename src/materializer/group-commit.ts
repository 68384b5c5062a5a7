/**
 * Group commit: Kafka hands the consumer one partition's batch at a time, several partitions
 * concurrently. Each batch does not get a transaction of its own; batches that arrive while a commit is
 * running wait and then go in the next commit together (the way PostgreSQL groups WAL flushes). Nothing
 * waits for a timer: an idle consumer commits a lone batch at once, a busy one commits larger ones.
 *
 * Larger commits are what make tiles cheap: events of one entity and tile within a commit fold into one
 * row update instead of one each. Every batch's promise settles with its commit's outcome.
 *
 * The consumer queues a batch and goes on fetching (consumer.ts): `room` bounds how much may wait,
 * `discard` drops what waits when a commit fails (it was fetched past the failed batch and must be fetched
 * again), and `idle` tells a clean stop when everything queued is in.
 */

export interface GroupCommitter<I, R> {
  /** Queues `item` for the next commit; settles with that commit's result or error. */
  add(item: I, size: number): Promise<R>;
  /** Resolves once less than `limit` (in sizes) is queued, not counting the commit running. */
  room(limit: number): Promise<void>;
  /** Removes everything queued and not yet committing, rejecting each with `reason`; returns the items. */
  discard(reason: Error): I[];
  /** Resolves once nothing is queued or committing. */
  idle(): Promise<void>;
  /** How many items wait for the next commit, not counting the commit running: 0 when none follows it at once. */
  waiting(): number;
}

/** `commit` runs one at a time, over everything queued since the last one started, up to `maxSize` per commit. */
export function groupCommitter<I, R>(commit: (items: I[]) => Promise<R>, maxSize: number): GroupCommitter<I, R> {
  let queue: { item: I; size: number; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  let queued = 0;
  let running = false;
  let waiters: { limit: number; wake: () => void }[] = [];
  let idlers: (() => void)[] = [];

  const wakeWaiters = () => {
    const ready = waiters.filter((w) => queued < w.limit);
    waiters = waiters.filter((w) => queued >= w.limit);
    for (const w of ready) w.wake();
  };

  const drain = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) {
      let size = 0;
      let take = 0;
      // At least one item, however large; then as many as fit.
      while (take < queue.length && (take === 0 || size + queue[take]!.size <= maxSize)) size += queue[take++]!.size;
      const group = queue.slice(0, take);
      queue = queue.slice(take);
      queued -= size;
      wakeWaiters();
      try {
        const result = await commit(group.map((g) => g.item));
        for (const g of group) g.resolve(result);
      } catch (error) {
        for (const g of group) g.reject(error);
      }
    }
    running = false;
    const done = idlers;
    idlers = [];
    for (const wake of done) wake();
  };

  return {
    add(item, size) {
      const settled = new Promise<R>((resolve, reject) => queue.push({ item, size, resolve, reject }));
      queued += size;
      if (!running) void drain();
      return settled;
    },
    room(limit) {
      if (queued < limit) return Promise.resolve();
      return new Promise((wake) => waiters.push({ limit, wake }));
    },
    discard(reason) {
      const dropped = queue;
      queue = [];
      queued = 0;
      for (const d of dropped) d.reject(reason);
      wakeWaiters();
      return dropped.map((d) => d.item);
    },
    idle() {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise((wake) => idlers.push(wake));
    },
    waiting: () => queue.length,
  };
}
