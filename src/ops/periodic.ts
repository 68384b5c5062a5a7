/**
 * A check run at start and then every interval, off the request path: freshness (freshness-monitor.ts)
 * and materializer lag (lag-monitor.ts) are read this way, so a scrape or a readiness probe only reads
 * what the last run found. Runs never overlap: asking for one while one is under way waits for that one.
 * The timer does not keep the process alive.
 */
export interface Periodic {
  /** Runs once (awaited), then every interval until stopped. */
  start(): Promise<void>;
  /** Runs now, or joins the run under way; resolves when it is done. Never rejects: failures go to onError. */
  runNow(): Promise<void>;
  stop(): void;
}

export function periodic(run: () => Promise<void>, intervalMs: number, onError: (error: unknown) => void): Periodic {
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const runNow = (): Promise<void> => {
    running ??= run()
      .catch(onError)
      .finally(() => (running = undefined));
    return running;
  };
  return {
    async start() {
      stopped = false;
      await runNow();
      if (!stopped && timer === undefined) {
        timer = setInterval(() => void runNow(), intervalMs);
        timer.unref();
      }
    },
    runNow,
    stop() {
      stopped = true;
      clearInterval(timer);
      timer = undefined;
    },
  };
}
