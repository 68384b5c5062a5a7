/**
 * The hold on a commit's online write (consumer.ts): it starts once the next commit has planned its merges
 * and waits on PostgreSQL, instead of lengthening that commit's fold. `release` ends the hold at once; it
 * ends by itself after `maxMs`, should the next commit be held up before planning (waiting on a lock).
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
