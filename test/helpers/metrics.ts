/**
 * Reads Prometheus exposition text the way a scraper would: each sample line `name{labels} value` becomes
 * an entry keyed by the name and its labels in sorted order, so tests compare numbers, not text.
 */

export type Samples = ReadonlyMap<string, number>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1]!, m[2]!] as const);
    out.set(sampleKey(match[1]!, Object.fromEntries(labels)), Number(match[3]));
  }
  return out;
}

/** The key parseExposition files a sample under. */
export function sampleKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** A sample's value, 0 when absent (a counter or histogram series not yet created). */
export function sample(samples: Samples, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples.get(sampleKey(name, labels)) ?? 0;
}

/** How much a sample moved between two scrapes. */
export function moved(before: Samples, after: Samples, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return sample(after, name, labels) - sample(before, name, labels);
}

export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return parseExposition(await res.text());
}
