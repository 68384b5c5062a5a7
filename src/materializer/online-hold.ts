/**
 * The hold on a commit's online write (consumer.ts, through onlineWrites below): it starts once the next
 * commit has planned its merges and waits on PostgreSQL, instead of lengthening that commit's fold.
 * `release` ends the hold at once; it ends by itself after `maxMs`, should the next commit be held up
 * before planning (waiting on a lock).
 */
export interface OnlineHold {
  /** Resolves when the hold ends. */
  readonly held: Promise<void>;
  /** Ends the hold now (again: nothing). */
  release(): void;
}

export function onlineHold(maxMs: number): OnlineHold {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    // A hold never keeps the process alive.
    timer.unref();
    release = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { held, release };
}

/**
 * The online writes of committed batches (consumer.ts): one at a time, in commit order, each held until
 * the next commit has planned its merges (`release`) unless no commit follows it, and at most the hold's
 * limit. Online writes are absolute and only-if-newer, so holding one changes when a value shows, never
 * which.
 */
export interface OnlineWrites {
  /**
   * A committed batch's write: it starts once the write before it is done and its hold ends, at once if
   * no commit follows (`followed` false). Ends the hold of the write before it, if any.
   */
  queue(write: () => Promise<void>, followed: boolean): void;
  /** Ends the current hold: the next commit has planned its merges, or will not (it failed). */
  release(): void;
  /** Resolves once every write queued so far is done (a write must not reject). */
  settled(): Promise<void>;
}

export function onlineWrites(maxHoldMs: number): OnlineWrites {
  let last: Promise<unknown> = Promise.resolve();
  let hold: OnlineHold | undefined;
  const release = () => {
    hold?.release();
    hold = undefined;
  };
  return {
    queue(write, followed) {
      release();
      const held = onlineHold(maxHoldMs);
      if (followed) hold = held;
      else held.release();
      last = Promise.all([last, held.held]).then(write);
    },
    release,
    settled: async () => void (await last),
  };
}
