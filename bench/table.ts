/** Markdown tables and number formats for benchmark output. Pure. */

export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/**
 * A GitHub-flavoured markdown table with every column padded to its widest cell, so the same text reads
 * well in a terminal and renders in docs/benchmarks.md when pasted.
 */
export function markdownTable(table: Table): string {
  const width = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${width.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(table.columns), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.rows.map(line)].join('\n');
}

/** Milliseconds: 3 significant decimals below 10 ms, 1 above. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value < 10 ? value.toFixed(3) : value.toFixed(1)} ms`;
}

/** Requests per second, rounded, with thousands separators. */
export function perSecond(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** A ratio such as "2.4×". */
export function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)}×` : 'n/a';
}

/** A share of one core such as "97%". */
export function percent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${Math.round(value * 100)}%`;
}
