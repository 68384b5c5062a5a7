/**
 * `COPY … FROM STDIN` through node-postgres, which has no COPY of its own: a "submittable" (an object
 * `client.query` accepts in place of a query and hands the connection's protocol messages to).
 *
 * It sends the statement, the data (CopyData messages) and CopyDone at once, without waiting for the
 * server's CopyInResponse. node-postgres reads that answer only when the process is next idle, and the
 * materializer folds the batch meanwhile: waiting for it would hold the data back until the fold is done
 * and leave PostgreSQL idle during it. The protocol allows this: a backend that fails the statement
 * before (or during) the copy drops the CopyData and CopyDone that follow. It settles on the server's
 * answer: the row count after ReadyForQuery, or the server's error.
 */
import type pg from 'pg';

/** What the connection offers a submittable (node-postgres's Connection, as far as COPY FROM needs it). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Uint8Array): void;
  endCopyFrom(): void;
}

/** Data goes in CopyData messages of at most this many bytes: node-postgres copies each into its writer. */
const CHUNK_BYTES = 1 << 18;

class CopyFromStdin {
  readonly #text: string;
  readonly #data: Uint8Array;
  readonly #settle: (error: Error | undefined, rows: number) => void;
  #rows = 0;
  #settled = false;

  constructor(text: string, data: Uint8Array, settle: (error: Error | undefined, rows: number) => void) {
    this.#text = text;
    this.#data = data;
    this.#settle = settle;
  }

  submit(connection: CopyConnection): void {
    connection.query(this.#text);
    for (let at = 0; at < this.#data.length; at += CHUNK_BYTES) connection.sendCopyFromChunk(this.#data.subarray(at, at + CHUNK_BYTES));
    connection.endCopyFrom();
  }

  /** The data went with the statement (submit). */
  handleCopyInResponse(): void {}

  handleCommandComplete(message: { text?: string }): void {
    // "COPY <n>"
    this.#rows = Number(/\d+$/.exec(message.text ?? '')?.[0] ?? 0);
  }

  handleReadyForQuery(): void {
    this.#finish(undefined);
  }

  handleError(error: Error): void {
    this.#finish(error);
  }

  // Not part of a COPY FROM exchange; answered so that a stray message cannot throw inside node-postgres.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  #finish(error: Error | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#settle(error, this.#rows);
  }
}

/**
 * Runs `copy <target> from stdin (format binary)` with `data` (copy-binary.ts) on `client`, queued behind
 * whatever it is running, like any query. Resolves with the rows copied.
 */
export function copyBinaryFrom(client: pg.PoolClient, target: string, data: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const copy = new CopyFromStdin(`copy ${target} from stdin (format binary)`, data, (error, rows) => (error === undefined ? resolve(rows) : reject(error)));
    (client as unknown as { query(submittable: CopyFromStdin): void }).query(copy);
  });
}
