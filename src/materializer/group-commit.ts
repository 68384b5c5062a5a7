/**
 * Group commit: Kafka hands the consumer one partition's batch at a time, several partitions
 * concurrently. Each batch does not get a transaction of its own; batches that arrive while a commit is
 * running wait and then go in the next commit together (the way PostgreSQL groups WAL flushes). Nothing
 * waits for a timer: an idle consumer commits a lone batch at once, a busy one commits larger ones.
 *
 * Larger commits are what make tiles cheap: events of one entity and tile within a commit fold into one
 * row update instead of one each. Every batch's promise settles with its commit's outcome, so a batch's
 * offsets are resolved only once its messages are committed.
 */

export interface GroupCommitter<I, R> {
  /** Queues `item` for the next commit; settles with that commit's result or error. */
  add(item: I, size: number): Promise<R>;
}

/** `commit` runs one at a time, over everything queued since the last one started, up to `maxSize` per commit. */
export function groupCommitter<I, R>(commit: (items: I[]) => Promise<R>, maxSize: number): GroupCommitter<I, R> {
  let queue: { item: I; size: number; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  let running = false;

  const drain = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) {
      let size = 0;
      let take = 0;
      // At least one item, however large; then as many as fit.
      while (take < queue.length && (take === 0 || size + queue[take]!.size <= maxSize)) size += queue[take++]!.size;
      const group = queue.slice(0, take);
      queue = queue.slice(take);
      try {
        const result = await commit(group.map((g) => g.item));
        for (const g of group) g.resolve(result);
      } catch (error) {
        for (const g of group) g.reject(error);
      }
    }
    running = false;
  };

  return {
    add(item, size) {
      const settled = new Promise<R>((resolve, reject) => queue.push({ item, size, resolve, reject }));
      if (!running) void drain();
      return settled;
    },
  };
}
