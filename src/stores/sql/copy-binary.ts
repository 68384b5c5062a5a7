/**
 * PostgreSQL's binary COPY format, written (pure): what `copy … from stdin (format binary)` reads.
 *
 * The archive insert is the largest piece of PostgreSQL's work per event. Sent as COPY instead of
 * `insert … select from unnest(<array literals>)`, the server parses no array literal and no number or
 * timestamp text, and writes the heap a page of rows at a time rather than a row at a time.
 *
 * Layout: an 11-byte signature, a flags word and a header-extension length (both 0); per row a 16-bit field
 * count, then per field a 32-bit byte length (-1 for NULL) and the value in the type's binary send format
 * (big-endian); a 16-bit -1 ends the data.
 */

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];

/** 2000-01-01T00:00:00Z in epoch ms: timestamptz counts microseconds from there. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 2 ** 32;

export class BinaryCopyWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialBytes = 1 << 16) {
    this.#buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
    for (const b of SIGNATURE) this.#buf[this.#pos++] = b;
    this.#int32(0);
    this.#int32(0);
  }

  /** Starts a row of `fields` values; exactly that many value calls must follow. */
  row(fields: number): this {
    this.#room(2);
    this.#buf.writeInt16BE(fields, this.#pos);
    this.#pos += 2;
    return this;
  }

  null(): this {
    this.#room(4);
    this.#int32(-1);
    return this;
  }

  /** text, varchar: UTF-8 (a lone surrogate becomes U+FFFD, as node-postgres sends it in a parameter). */
  text(value: string): this {
    // Room for the worst case (3 bytes per UTF-16 unit); the length goes in once the bytes are written.
    this.#room(4 + 3 * value.length);
    const bytes = this.#buf.write(value, this.#pos + 4, 'utf8');
    this.#int32(bytes);
    this.#pos += bytes;
    return this;
  }

  /** jsonb: a version byte (1), then the JSON text. */
  jsonb(json: string): this {
    this.#room(5 + 3 * json.length);
    const bytes = this.#buf.write(json, this.#pos + 5, 'utf8');
    this.#int32(bytes + 1);
    this.#buf[this.#pos++] = 1;
    this.#pos += bytes;
    return this;
  }

  /** integer (int4). */
  int32(value: number): this {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`not a 32-bit integer: ${value}`);
    this.#room(8);
    this.#int32(4);
    this.#int32(value);
    return this;
  }

  /** bigint (int8), from a safe integer. */
  int64(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    this.#room(12);
    this.#int32(8);
    this.#int64(value);
    return this;
  }

  /** double precision (float8): the IEEE 754 bits, exact. */
  float64(value: number): this {
    this.#room(12);
    this.#int32(8);
    this.#buf.writeDoubleBE(value, this.#pos);
    this.#pos += 8;
    return this;
  }

  boolean(value: boolean): this {
    this.#room(5);
    this.#int32(1);
    this.#buf[this.#pos++] = value ? 1 : 0;
    return this;
  }

  /** timestamptz from whole epoch milliseconds (as DateTime values are, features/time.ts): µs since 2000-01-01 UTC. */
  timestampMs(ms: number): this {
    if (!Number.isSafeInteger(ms)) throw new RangeError(`not a whole epoch millisecond: ${ms}`);
    this.#room(12);
    this.#int32(8);
    const micros = (ms - PG_EPOCH_MS) * 1000;
    if (Number.isSafeInteger(micros)) this.#int64(micros);
    else {
      // Beyond about 285 years from 2000 the product leaves the safe integers: exact through BigInt.
      this.#buf.writeBigInt64BE(BigInt(ms - PG_EPOCH_MS) * 1000n, this.#pos);
      this.#pos += 8;
    }
    return this;
  }

  /** The data with its end marker. The writer is spent. */
  finish(): Buffer {
    this.#room(2);
    this.#buf.writeInt16BE(-1, this.#pos);
    this.#pos += 2;
    return this.#buf.subarray(0, this.#pos);
  }

  #int32(value: number): void {
    this.#buf.writeInt32BE(value, this.#pos);
    this.#pos += 4;
  }

  /** A safe integer as two's-complement int64: the high word by floor division, the low word unsigned. */
  #int64(value: number): void {
    const high = Math.floor(value / TWO_32);
    this.#buf.writeInt32BE(high, this.#pos);
    this.#buf.writeUInt32BE(value - high * TWO_32, this.#pos + 4);
    this.#pos += 8;
  }

  /** At least `bytes` free after the write position: the buffer doubles (or more) when it would not fit. */
  #room(bytes: number): void {
    if (this.#pos + bytes > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + bytes));
      this.#buf.copy(grown, 0, 0, this.#pos);
      this.#buf = grown;
    }
  }
}
