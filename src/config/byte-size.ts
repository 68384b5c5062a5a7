/** Sizes as settings spell them: `1048576`, `512kb`, `8mb` (binary units: 1kb = 1024 bytes). Pure. */

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Bytes for a size, or undefined when the text is not one (or is not a whole positive number of bytes). */
export function parseByteSize(text: string | undefined): number | undefined {
  const match = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(text?.trim() ?? '');
  if (match === null) return undefined;
  const bytes = Number(match[1]) * UNITS[(match[2] ?? '').toLowerCase()]!;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
