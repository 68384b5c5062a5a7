/** The little SQL surface the offline store needs, implemented by node-postgres and by PGlite. */

export interface SqlQueryable {
  query<T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** A transaction's statements: queries, and COPY for bulk appends. */
export interface SqlTransaction extends SqlQueryable {
  /**
   * `copy <target> from … (format binary)`: rows in PostgreSQL's binary COPY format (copy-binary.ts) into
   * `target`, written `table (column, …)`. Resolves with the number of rows copied.
   */
  copyBinary(target: string, data: Uint8Array): Promise<number>;
}

export interface SqlClient extends SqlQueryable {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
