/**
 * A uniform sample of at most `capacity` numbers from a stream of any length (reservoir sampling,
 * Algorithm R): what a training-set export keeps of each numeric column to build its drift reference
 * from, so memory stays bounded however many rows are exported. Seeded, so the same export gives the same
 * reference on every run. Pure.
 */
import { seededRandom } from '../../demo/random.ts';
import type { Random } from '../../demo/random.ts';

export class Reservoir {
  readonly #capacity: number;
  readonly #random: Random;
  readonly #kept: number[] = [];
  #seen = 0;

  constructor(capacity: number, seed = 1) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`reservoir capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
    this.#random = seededRandom(seed);
  }

  /** Values offered so far. */
  get seen(): number {
    return this.#seen;
  }

  add(value: number): void {
    const i = this.#seen++;
    if (i < this.#capacity) {
      this.#kept.push(value);
      return;
    }
    // The i-th value (0-based) replaces a kept one with probability capacity / (i + 1).
    const j = Math.floor(this.#random() * (i + 1));
    if (j < this.#capacity) this.#kept[j] = value;
  }

  /** The sample, sorted ascending. */
  sorted(): Float64Array {
    return Float64Array.from(this.#kept).sort();
  }
}
