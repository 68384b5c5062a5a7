/** SQL stores with their `transaction` replaced, for tests that watch or break what a commit runs. */
import type { SqlClient } from '../../src/stores/sql/client.ts';

/** The store with its `transaction` replaced (a proxy: the store's methods use private fields). */
export function withTransaction<S extends SqlClient>(store: S, transaction: SqlClient['transaction']): S {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'transaction') return transaction;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The store with every statement its transactions run passed to `seen` first. */
export function recordingTransactions<S extends SqlClient>(store: S, seen: (sql: string) => void): S {
  return withTransaction(store, (fn) =>
    store.transaction((tx) =>
      fn({
        query: (sql, params) => (seen(sql), tx.query(sql, params)),
        copyBinary: (target, data) => (seen(`copy ${target}`), tx.copyBinary(target, data)),
      }),
    ),
  );
}
