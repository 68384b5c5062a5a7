/**
 * Where a materializer's wall time goes, for `npm run bench -- materializer --profile`: the stores wrapped
 * so that every PostgreSQL statement (labelled by its verb and the first skewless table it names), every
 * transaction as a whole and every online store call are timed from the caller's side — the time the
 * materializer waits for them, client-side parameter encoding and result parsing included. Only the
 * profiled run is wrapped; the measured runs use the stores as they are.
 */
import type { Stores } from '../src/stores/open.ts';
import type { SqlTransaction } from '../src/stores/sql/client.ts';

export interface Timing {
  readonly name: string;
  readonly calls: number;
  readonly ms: number;
}

export class Timings {
  readonly #entries = new Map<string, { calls: number; ms: number }>();

  add(name: string, ms: number): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) this.#entries.set(name, { calls: 1, ms });
    else {
      entry.calls++;
      entry.ms += ms;
    }
  }

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, performance.now() - started);
    }
  }

  list(): Timing[] {
    return [...this.#entries.entries()].map(([name, e]) => ({ name, calls: e.calls, ms: e.ms })).sort((a, b) => b.ms - a.ms);
  }
}

/**
 * `insert into skewless.tiles_user_txn_windows …` → `insert tiles_user_txn_windows`. A write under a data-modifying
 * WITH is labelled by its own verb and table: `insert events_Transaction (with update archive_marks)`.
 */
export function statementLabel(sql: string): string {
  const primary = /^\s*with\b[\s\S]*\)\s+(insert into|update|delete from)\s+skewless\."?(\w+)"?/i.exec(sql);
  if (primary !== null) return `${primary[1]!.split(' ')[0]!.toLowerCase()} ${primary[2]!} (with ${statementLabel(sql.replace(/^\s*with\s+\w+\s+as\s+\(/i, ''))})`;
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? '?';
  const table = /skewless\."?([\w]+)"?/.exec(sql)?.[1];
  const locking = /\bfor update\b/i.test(sql) ? ' for update' : '';
  return `${verb}${table === undefined ? '' : ` ${table}`}${locking}`;
}

/** The stores, each call timed into `timings`; behaviour unchanged. */
export function timedStores(stores: Stores, timings: Timings): Stores {
  const timedTx = (tx: SqlTransaction): SqlTransaction => ({
    query: (sql, params) => timings.time(`  sql: ${statementLabel(sql)}`, () => tx.query(sql, params)),
    copyBinary: (target, data) => timings.time(`  sql: ${statementLabel(`copy ${target}`)}`, () => tx.copyBinary(target, data)),
  });
  const offline = new Proxy(stores.offline, {
    get(target, property) {
      if (property === 'transaction') {
        return <T>(fn: (tx: SqlTransaction) => Promise<T>) => timings.time('PostgreSQL transaction (begin → commit)', () => target.transaction((tx) => fn(timedTx(tx))));
      }
      if (property === 'query') {
        return (sql: string, params?: readonly unknown[]) => timings.time(`sql outside a transaction: ${statementLabel(sql)}`, () => target.query(sql, params));
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const online = new Proxy(stores.online, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const started = performance.now();
        const result = fn(...args);
        if (!(result instanceof Promise)) return result;
        return result.finally(() => timings.add(`online store: ${String(property)}`, performance.now() - started));
      };
    },
  });
  return { offline, online };
}
