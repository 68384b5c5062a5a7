/**
 * Durations as written in the schema ("90s", "24h", "7d", "1h30m") and their millisecond values.
 *
 * Pure and shared: the registry parses ttl, window and hop arguments with it, and the serving paths see only
 * the resulting milliseconds, so "3d" means the same thing to the online and the historical path.
 */

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;

type Unit = keyof typeof UNIT_MS;

// One or more <integer><unit> parts, largest first by convention but not required ("1h30m").
const PART = /(\d+)(ms|s|m|h|d|w)/y;

/** Milliseconds for a duration string, or undefined when the string is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (match === null || match.index !== start) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2] as Unit];
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** The shortest exact spelling of a millisecond duration ("86400000" → "1d", "5400000" → "1h30m"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const order: Unit[] = ['d', 'h', 'm', 's', 'ms'];
  let rest = ms;
  let out = '';
  for (const unit of order) {
    const size = UNIT_MS[unit];
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

export const MS_PER = UNIT_MS;
