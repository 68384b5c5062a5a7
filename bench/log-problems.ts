/**
 * What a materializer process logged at warn or error level, read from its stderr (JSON lines,
 * src/ops/log.ts): a commit that failed and was retried (`materializer.batch_failed`), an online write
 * behind, … The bench's data checks pass all the same after such a run, so without this its figures
 * would silently include the retries (docs/benchmarks.md).
 */
export class LogProblems {
  /** Per message: how often, and its first line (cut to 400 characters). */
  readonly byMessage = new Map<string, { count: number; first: string }>();
  /** The unfinished last line of what was fed. */
  #partial = '';

  /** Takes the next chunk of the stream (lines may be split across chunks). */
  feed(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop()!;
    for (const line of lines) {
      const entry = logEntry(line);
      if (entry === undefined || (entry.level !== 'warn' && entry.level !== 'error')) continue;
      const seen = this.byMessage.get(entry.msg);
      if (seen === undefined) this.byMessage.set(entry.msg, { count: 1, first: line.slice(0, 400) });
      else seen.count++;
    }
  }

  /** The report's sentence: none, or each message with its count and first line, in bold. */
  text(): string {
    if (this.byMessage.size === 0) return 'The materializer logged no warning or error (no commit failed).';
    const each = [...this.byMessage].map(([msg, { count, first }]) => `${count} × ${msg} (the first: \`${first}\`)`);
    return `**The materializer logged ${each.join('; ')}**: the figures include what that cost.`;
  }
}

/** A JSON log line's level and message, or undefined for any other line. */
function logEntry(line: string): { level: string; msg: string } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const { level, msg } = JSON.parse(line) as { level?: unknown; msg?: unknown };
    return typeof level === 'string' && typeof msg === 'string' ? { level, msg } : undefined;
  } catch {
    return undefined;
  }
}
