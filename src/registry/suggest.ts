/** "Did you mean" suggestions for unknown names: the closest known name by edit distance, if close enough. */

/** ` (did you mean "X"?)` for the closest known name, or nothing when none is close. */
export function suggest(name: string, known: readonly string[]): string {
  const close = closest(name, known);
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}

/** The known name nearest to `name`, when it is within about a third of its length in edits. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
