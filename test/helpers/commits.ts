/** Following a materializer's commits in a test, through its onBatch callback. */
import type { CommitResult } from '../../src/materializer/commit.ts';

export interface CommitWatch {
  /** Pass as MaterializerOptions.onBatch. */
  readonly onBatch: (result: CommitResult) => void;
  /** Every commit seen, in order. */
  readonly results: readonly CommitResult[];
  /** Resolves once `count` messages are accounted for: committed, dead-lettered or skipped as redelivered. */
  readonly accounted: Promise<void>;
}

export function watchCommits(count: number): CommitWatch {
  const results: CommitResult[] = [];
  let seen = 0;
  let done!: () => void;
  const accounted = new Promise<void>((resolve) => (done = resolve));
  const onBatch = (r: CommitResult) => {
    results.push(r);
    seen += r.skipped + r.dead.length + [...r.events.values(), ...r.rows.values()].reduce((n, l) => n + l.length, 0);
    if (seen >= count) done();
  };
  return { onBatch, results, accounted };
}
