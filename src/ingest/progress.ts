/**
 * Progress of a long pass over a file, on stderr (stdout carries only the result, so it can be piped).
 * On a terminal: one line redrawn in place. Otherwise (CI logs, files): a plain line at most every 2 s,
 * so a long load leaves a readable trail rather than thousands of lines. Either way a pass ends with a
 * summary line. The formatting is pure; `Progress` only decides when to write.
 *
 * A pass over a file counts rows against the file's size in bytes (ingest); a pass over something
 * already counted, such as `skewless backfill`'s archived events, counts against a known total of the
 * same unit (`totalIn: 'units'`).
 */

export interface ProgressSnapshot {
  /** What the pass is doing, e.g. `validating`. */
  readonly phase: string;
  readonly rows: number;
  readonly bytes: number;
  /** Size of the file; 0 for an empty one. */
  readonly totalBytes: number;
  readonly elapsedMs: number;
  /** What is counted, plural. Default `rows`. */
  readonly unit?: string;
  /** What the total is: the file's bytes (default), or a count of `unit`, passed as `totalBytes` and `bytes`. */
  readonly totalIn?: 'bytes' | 'units';
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export function rowsPerSecond(rows: number, elapsedMs: number): number {
  // A pass faster than the clock's resolution still gets a finite rate.
  return (rows * 1000) / Math.max(elapsedMs, 1);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `validating: 12,000 rows, 37% of 4.2 MiB, 41,200 rows/s`; counting units: `backfilling: 12,000 of 32,000 events (37%), 41,200 events/s` */
export function progressLine(s: ProgressSnapshot): string {
  const unit = s.unit ?? 'rows';
  const percent = s.totalBytes === 0 ? 100 : Math.min(100, Math.floor((s.bytes * 100) / s.totalBytes));
  const rate = `${count(rowsPerSecond(s.rows, s.elapsedMs))} ${unit}/s`;
  if (s.totalIn === 'units') return `${s.phase}: ${count(s.rows)} of ${count(s.totalBytes)} ${unit} (${percent}%), ${rate}`;
  return `${s.phase}: ${count(s.rows)} ${unit}, ${percent}% of ${formatBytes(s.totalBytes)}, ${rate}`;
}

/** `validated 50,000 rows in 1.2 s (41,300 rows/s)` */
export function summaryLine(done: string, rows: number, elapsedMs: number, unit = 'rows'): string {
  return `${done} ${count(rows)} ${unit} in ${(elapsedMs / 1000).toFixed(1)} s (${count(rowsPerSecond(rows, elapsedMs))} ${unit}/s)`;
}

export interface ProgressOutput {
  write(text: string): unknown;
  /** A terminal: redraw one line. Default false. */
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  /** Clock, injectable for tests. Default Date.now. */
  readonly now?: () => number;
  /** Least time between two lines when not on a terminal. Default 2000 ms. */
  readonly plainIntervalMs?: number;
  /** Least time between two redraws on a terminal. Default 100 ms: smooth, without flooding a slow one. */
  readonly ttyIntervalMs?: number;
  /** What is counted, plural. Default `rows`. */
  readonly unit?: string;
  /** `bytes` (default): the total is a file's size and `update` gets bytes read; `units`: a count of `unit`. */
  readonly totalIn?: 'bytes' | 'units';
}

/** Reports one pass: `update` as it goes, then `finish` (or `abandon` when the pass fails). */
export class Progress {
  readonly #out: ProgressOutput;
  readonly #phase: string;
  readonly #done: string;
  readonly #totalBytes: number;
  readonly #now: () => number;
  readonly #interval: number;
  readonly #start: number;
  readonly #unit: string;
  readonly #totalIn: 'bytes' | 'units';
  #last: number;
  /** A redrawn line is on the terminal without its newline yet. */
  #open = false;

  constructor(out: ProgressOutput, phase: string, done: string, totalBytes: number, options: ProgressOptions = {}) {
    this.#out = out;
    this.#phase = phase;
    this.#done = done;
    this.#totalBytes = totalBytes;
    this.#now = options.now ?? Date.now;
    this.#interval = out.isTTY === true ? (options.ttyIntervalMs ?? 100) : (options.plainIntervalMs ?? 2000);
    this.#start = this.#now();
    this.#unit = options.unit ?? 'rows';
    this.#totalIn = options.totalIn ?? 'bytes';
    this.#last = this.#start;
  }

  update(rows: number, bytes: number): void {
    const now = this.#now();
    if (now - this.#last < this.#interval) return;
    this.#last = now;
    const line = progressLine({ phase: this.#phase, rows, bytes, totalBytes: this.#totalBytes, elapsedMs: now - this.#start, unit: this.#unit, totalIn: this.#totalIn });
    if (this.#out.isTTY === true) {
      // \x1b[K clears what a longer previous line left to the right.
      this.#out.write(`\r${line}\x1b[K`);
      this.#open = true;
    } else {
      this.#out.write(`${line}\n`);
    }
  }

  finish(rows: number): void {
    const summary = summaryLine(this.#done, rows, this.#now() - this.#start, this.#unit);
    this.#out.write(this.#open ? `\r${summary}\x1b[K\n` : `${summary}\n`);
    this.#open = false;
  }

  /** Ends a redrawn line, so an error printed next starts on a line of its own. */
  abandon(): void {
    if (this.#open) this.#out.write('\n');
    this.#open = false;
  }
}
