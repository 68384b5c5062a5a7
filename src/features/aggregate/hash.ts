/**
 * MurmurHash3 (x86, 32-bit) over the UTF-16 code units of a string, two code units per 32-bit block.
 *
 * Implemented here rather than taken from a dependency because HyperLogLog registers written today must
 * hash identically in every future build: the function is part of the stored format. Only 32-bit integer
 * operations (Math.imul, shifts) are used, which are exact on every engine. Not a cryptographic hash.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  return h ^ k;
}

/** 32-bit MurmurHash3 of `text` with `seed`, as an unsigned integer. */
export function murmur3(text: string, seed: number): number {
  let h = seed >>> 0;
  const n = text.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    h = mixBlock(h, text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) h = mixBlock(h, text.charCodeAt(i));
  h ^= n * 2; // length in bytes
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
