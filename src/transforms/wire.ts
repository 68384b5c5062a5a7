/**
 * The host's half of the batch protocol (runtime.ts has the isolate's half and the layout): a batch
 * crosses into an isolate as one JSON header and one Float64Array, and comes back the same way (a
 * small batch as the header alone).
 *
 * Columns of numbers travel in the Float64Array, which crosses the boundary as one copy of its bytes;
 * any other column travels inside the header as its JSON values. JSON text used to be the whole
 * protocol, and encoding and parsing numbers one by one, on both sides, cost more than the transforms
 * themselves. A number column keeps exactly the values JSON would have given: NaN marks null, and what
 * JSON cannot write becomes what JSON reads back (a non-finite number: null; -0: 0).
 */
import type { BatchInput, OutputSpec } from './pool.ts';

/**
 * Where a column is: the index of its block of n numbers in the batch's Float64Array, or its values
 * (when they are not all numbers).
 */
export type ColumnRef = number | readonly unknown[];

/** A batch ready to cross: `header` is stringified per call, with the cells to skip (runtime.ts). */
export interface WireBatch {
  readonly header: {
    readonly n: number;
    /** Whether number columns travel in the Float64Array, both ways; else every column is inline. */
    readonly packed: boolean;
    readonly asOf: ColumnRef;
    readonly request: Readonly<Record<string, ColumnRef>>;
    readonly views: Readonly<Record<string, Readonly<Record<string, ColumnRef>>>>;
  };
  /** The number columns' blocks; absent when not packed. */
  readonly numbers: Float64Array | undefined;
  /** Rows × columns: what the call will carry. */
  readonly cells: number;
}

/**
 * Batches of fewer rows travel as JSON only, one string each way: typed arrays cost a few microseconds
 * per call to make and to copy, on each side, which a handful of numbers written as text does not repay.
 */
const PACKED_MIN_ROWS = 64;

export function encodeBatch(batch: BatchInput): WireBatch {
  const packed = batch.n >= PACKED_MIN_ROWS;
  const blocks: Float64Array[] = [];
  let columns = 0;
  const ref = (values: readonly unknown[]): ColumnRef => {
    columns++;
    const numbers = packed ? numberColumn(values) : undefined;
    if (numbers === undefined) return values;
    blocks.push(numbers);
    return blocks.length - 1;
  };
  const refs = (cols: Readonly<Record<string, readonly unknown[]>>) => {
    const out: Record<string, ColumnRef> = {};
    for (const name in cols) out[name] = ref(cols[name]!);
    return out;
  };
  const views: Record<string, Record<string, ColumnRef>> = {};
  for (const view in batch.views) views[view] = refs(batch.views[view]!);
  const header = { n: batch.n, packed, asOf: ref(batch.asOf), request: refs(batch.request), views };
  if (!packed) return { header, numbers: undefined, cells: columns * batch.n };
  const numbers = new Float64Array(blocks.length * batch.n);
  blocks.forEach((block, k) => numbers.set(block, k * batch.n));
  return { header, numbers, cells: columns * batch.n };
}

/** The column as numbers (NaN for null), or undefined when a value is neither a number nor null. */
function numberColumn(values: readonly unknown[]): Float64Array | undefined {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // `v + 0` turns -0 into 0, as JSON.stringify does.
    if (typeof v === 'number') out[i] = Number.isFinite(v) ? v + 0 : NaN;
    else if (v === null || v === undefined) out[i] = NaN;
    else return undefined;
  }
  return out;
}

/**
 * An output column as the runtime sent it, back to values. The runtime sends non-list Float, Int,
 * DateTime and Boolean outputs as numbers (checked finite, so NaN can only mean null; Booleans as 1 and
 * 0), the others as JSON values. -0 comes back as 0, as it did when every value travelled as JSON.
 */
export function decodeOutput(spec: OutputSpec, ref: ColumnRef, numbers: Float64Array | undefined, n: number): unknown[] {
  if (typeof ref !== 'number' || numbers === undefined) return ref as unknown[];
  const out = new Array<unknown>(n);
  const boolean = spec[1] === 'Boolean';
  for (let i = 0, at = ref * n; i < n; i++, at++) {
    const v = numbers[at]!;
    out[i] = Number.isNaN(v) ? null : boolean ? v === 1 : v + 0;
  }
  return out;
}
