/**
 * The online benchmark's data: 100 users × 5 views × 10 Float features (bench/repos/online), the queries
 * that read them, the Redis keys the gateway reads for them, and checks that an answer carries exactly the
 * values pushed. Pure.
 */
import { onlineKey } from '../src/features/keys.ts';

export const USERS = 100;
export const VIEWS = 5;
export const FEATURES_PER_VIEW = 10;
export const SERVICE = 'bench_all';

export const userId = (u: number): string => `u${u}`;
export const viewName = (v: number): string => `bench_v${v}`;
export const featureName = (v: number, f: number): string => `v${v}_f${f}`;

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => i + from);
/** Views are numbered 1..5 like their types (BenchV1..BenchV5); features 0..9. */
const views = range(VIEWS, 1);
const features = range(FEATURES_PER_VIEW);

/** A distinct non-integer per (user, view, feature), so a value served from the wrong key or column shows. */
export function featureValue(u: number, v: number, f: number): number {
  return u * 1000 + v * 10 + f + 0.5;
}

/** The rows pushed to one view: one per user. */
export function pushRowsFor(v: number, eventTimestamp: string): Record<string, unknown>[] {
  return range(USERS).map((u) => {
    const row: Record<string, unknown> = { user_id: userId(u), event_timestamp: eventTimestamp };
    for (const f of features) row[featureName(v, f)] = featureValue(u, v, f);
    return row;
  });
}

export const PUSH_MUTATION = 'mutation Push($view: String!, $rows: [JSON!]!) { pushFeatures(view: $view, rows: $rows) { rows onlineWritten onlineKept } }';

/** `onlineFeatures` for users 0..n-1 through the feature service, entities inline as a client would send them. */
export function frameQuery(n: number, selection = 'rows'): string {
  const entities = range(n).map((u) => `{user_id: "${userId(u)}"}`);
  return `{ onlineFeatures(service: "${SERVICE}", entities: [${entities.join(', ')}]) { ${selection} } }`;
}

/** The typed form: `user(user_id:)` for one user, `users(user_id: [...])` for several, every feature selected. */
export function typedQuery(n: number): string {
  const selection = views.map((v) => `${viewName(v)} { ${features.map((f) => featureName(v, f)).join(' ')} }`).join(' ');
  if (n === 1) return `{ user(user_id: "${userId(0)}") { ${selection} } }`;
  return `{ users(user_id: [${range(n).map((u) => `"${userId(u)}"`).join(', ')}]) { ${selection} } }`;
}

/** The online store keys the gateway reads for users 0..n-1: one per (user, view), in one MGET. */
export function redisKeys(n: number): string[] {
  return range(n).flatMap((u) => views.map((v) => onlineKey('User', userId(u), viewName(v))));
}

/** The frame's columns as the service defines them: the join key, then every feature ref in view order. */
export function expectedColumns(): string[] {
  return ['user_id', ...views.flatMap((v) => features.map((f) => `${viewName(v)}:${featureName(v, f)}`))];
}

interface GraphQLBody {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { readonly message: string }[];
}

function parseBody(text: string): Record<string, unknown> {
  const body = JSON.parse(text) as GraphQLBody;
  if (body.errors !== undefined && body.errors.length > 0) throw new Error(`GraphQL errors: ${body.errors.map((e) => e.message).join('; ')}`);
  if (body.data == null) throw new Error(`no data in ${text.slice(0, 200)}`);
  return body.data;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`wrong answer: ${what}`);
}

/** Throws unless `text` is the frame for users 0..n-1 with every value pushed. */
export function verifyFrame(text: string, n: number): void {
  const frame = parseBody(text).onlineFeatures as { rows?: unknown[][] } | undefined;
  const rows = frame?.rows;
  check(Array.isArray(rows) && rows.length === n, `expected ${n} rows`);
  rows!.forEach((row, u) => {
    check(row.length === 1 + VIEWS * FEATURES_PER_VIEW, `row ${u} has ${row.length} values, expected 1 + ${VIEWS * FEATURES_PER_VIEW}`);
    check(row[0] === userId(u), `row ${u} is for ${String(row[0])}`);
    for (const v of views) {
      for (const f of features) {
        const got = row[1 + (v - 1) * FEATURES_PER_VIEW + f];
        check(got === featureValue(u, v, f), `row ${u} ${featureName(v, f)} = ${String(got)}, pushed ${featureValue(u, v, f)}`);
      }
    }
  });
}

/** Throws unless `text` is the typed answer for users 0..n-1 with every value pushed. */
export function verifyTyped(text: string, n: number): void {
  const data = parseBody(text);
  const objects = (n === 1 ? [data.user] : data.users) as Record<string, Record<string, unknown> | null>[] | undefined;
  check(Array.isArray(objects) && objects.length === n, `expected ${n} users`);
  objects!.forEach((user, u) => {
    for (const v of views) {
      const view = user?.[viewName(v)];
      check(view != null, `user ${u} has no ${viewName(v)}`);
      for (const f of features) {
        const got = view![featureName(v, f)];
        check(got === featureValue(u, v, f), `user ${u} ${featureName(v, f)} = ${String(got)}, pushed ${featureValue(u, v, f)}`);
      }
    }
  });
}

/** Throws unless the raw MGET of redisKeys(n) found a stored record for every key. */
export function verifyRaw(values: readonly (string | null)[], n: number): void {
  check(values.length === n * VIEWS, `MGET answered ${values.length} values for ${n * VIEWS} keys`);
  values.forEach((value, i) => {
    const u = Math.floor(i / VIEWS);
    const v = (i % VIEWS) + 1;
    check(value !== null && value.includes(`"${featureName(v, 0)}":${featureValue(u, v, 0)}`), `key ${redisKeys(n)[i]} holds ${String(value).slice(0, 80)}`);
  });
}
