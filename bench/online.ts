/**
 * The online benchmark: feature vectors through the full HTTP GraphQL path of a separate gateway process
 * against real Redis on loopback, next to raw ioredis MGETs of the same keys in the same run. The gateway
 * reads exactly one MGET per request, so the ratio is what HTTP, GraphQL and decoding cost on top.
 *
 * Scenarios: 1 entity × 50 features and 100 entities × 50 features (5 views × 10), each asked as an
 * `onlineFeatures` frame through a feature service and in the typed form (`user { bench_v1 { … } }`).
 */
import http from 'node:http';
import type { Redis } from 'ioredis';
import { createRedisClient } from '../src/stores/redis/client.ts';
import type { BenchContext, Benchmark, Section } from './benchmark.ts';
import { CpuWindow } from './cpu.ts';
import { runDatabase } from './database.ts';
import type { RunDatabase } from './database.ts';
import { startGateway } from './gateway.ts';
import type { BenchGateway } from './gateway.ts';
import { HttpConnection, encodePost } from './http-client.ts';
import { saturate, sequential } from './load.ts';
import type { Operation, SaturationResult, SequentialOptions } from './load.ts';
import { USERS, VIEWS, PUSH_MUTATION, expectedColumns, frameQuery, pushRowsFor, redisKeys, typedQuery, verifyFrame, verifyRaw, verifyTyped, viewName } from './online-data.ts';
import { profileSection } from './online-profile.ts';
import { bestLevel, latencySection, saturationSection, summarySection } from './online-report.ts';
import type { Level, Scenario, ScenarioResult, Target } from './online-report.ts';
import { summarize } from './stats.ts';
import type { LatencySummary } from './stats.ts';
import { ms } from './table.ts';

// Load shedding off (--max-in-flight 0): this bench measures the serving path at up to 64 requests in
// flight, beyond the default admission limit; shedding itself is `npm run bench -- overload`'s question.
const REPO_ARGS = ['--schema', 'bench/repos/online/schema', '--transforms', 'bench/repos/online/transforms', '--max-in-flight', '0'];
const HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };

// The targets (docs/benchmarks.md); the typed form answers the same question, so it gets the same bar.
const ONE: Target = { p99Ms: 1.5, minPerSecond: 3000 };
const HUNDRED: Target = { p99Ms: 10 };

function scenarios(quick: boolean): Scenario[] {
  const scale = (n: number) => (quick ? Math.ceil(n / 10) : n);
  return [
    { label: '1×50 onlineFeatures', entities: 1, query: frameQuery(1), verify: verifyFrame, target: ONE, warmup: scale(2000), count: scale(10_000) },
    { label: '1×50 typed user', entities: 1, query: typedQuery(1), verify: verifyTyped, target: ONE, warmup: scale(2000), count: scale(10_000) },
    { label: '100×50 onlineFeatures', entities: USERS, query: frameQuery(USERS), verify: verifyFrame, target: HUNDRED, warmup: scale(500), count: scale(2000) },
    { label: '100×50 typed users', entities: USERS, query: typedQuery(USERS), verify: verifyTyped, target: HUNDRED, warmup: scale(500), count: scale(2000) },
  ];
}

interface Setup {
  readonly ctx: BenchContext;
  readonly gateway: BenchGateway;
  readonly base: URL;
  readonly redis: Redis;
  readonly redisPid: number | undefined;
  readonly concurrency: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
}

export const online: Benchmark = {
  name: 'online',
  title: 'Online serving: HTTP GraphQL gateway vs raw ioredis MGET of the same keys',
  run,
};

async function run(ctx: BenchContext): Promise<Section[]> {
  const { quick } = ctx.options;
  const url = await ctx.redisUrl();
  const redis = await connect(url);
  const keys = redisKeys(USERS);
  let database: RunDatabase | undefined;
  try {
    const redisPid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]) || undefined;
    // A Redis kept from an earlier run may hold newer rows for these keys, which a push would not replace.
    await redis.del(...keys);
    // PostgreSQL as the offline store, as in production. With the embedded PGlite store (the default with
    // no DATABASE_URL) the store runs inside the gateway's process, and what the gateway writes to it off
    // the read path (parity samples) still holds the event loop: 100×50 p99 17–19 ms against 8 ms here
    // (docs/benchmarks.md, online, 2026-11-22).
    database = await runDatabase(await ctx.databaseUrl(), 'online');
    ctx.log('online: starting the gateway');
    const gateway = await startGateway({ args: REPO_ARGS, env: { REDIS_URL: url, DATABASE_URL: database.url } });
    const setup: Setup = {
      ctx,
      gateway,
      base: new URL(gateway.base),
      redis,
      redisPid,
      concurrency: quick ? [16] : [8, 32, 64],
      warmupMs: quick ? 300 : 1000,
      durationMs: quick ? 1000 : 5000,
    };
    let results: ScenarioResult[];
    let clients: Section;
    try {
      await load(setup);
      const all = scenarios(quick);
      await warmUp(setup, all);
      results = [];
      for (const scenario of all) results.push(await measure(setup, scenario));
      clients = await clientOverhead(setup, results[0]!.scenario);
    } finally {
      await gateway.stop();
    }
    const sections = [summarySection(results), latencySection(results), saturationSection(results), clients];
    if (ctx.options.profile) {
      // The 1×50 frame at the concurrency that gave it the most requests/s.
      const [first] = results;
      sections.push(await profileSection({ ctx, label: first!.scenario.label, query: first!.scenario.query, concurrency: bestLevel(first!).concurrency, gatewayArgs: REPO_ARGS, redisUrl: url, databaseUrl: database.url }));
    }
    return sections;
  } finally {
    await redis.del(...keys).catch(() => 0);
    redis.disconnect();
    await database?.drop();
  }
}

/** The same client configuration the gateway uses (auto-pipelining, no offline queue), connected. */
async function connect(url: string): Promise<Redis> {
  const client = createRedisClient(url, 'standalone') as Redis;
  client.on('error', () => {}); // failures surface as rejected commands
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.disconnect(); // or it would keep reconnecting, and keep the process alive
      reject(new Error(`Redis at ${url} not ready within 10 s`));
    }, 10_000);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return client;
}

/** Pushes the 100 users × 5 views through the product's own pushFeatures mutation, over HTTP. */
async function load(setup: Setup): Promise<void> {
  setup.ctx.log(`online: pushing ${USERS} users × ${VIEWS} views`);
  // A minute in the past: the views have no ttl, so every value is served at any later instant.
  const eventTimestamp = new Date(Date.now() - 60_000).toISOString();
  for (let v = 1; v <= VIEWS; v++) {
    const text = await post(setup.base, { query: PUSH_MUTATION, variables: { view: viewName(v), rows: pushRowsFor(v, eventTimestamp) } });
    const result = (JSON.parse(text) as { data?: { pushFeatures?: { onlineWritten?: number } } }).data?.pushFeatures;
    if (result?.onlineWritten !== USERS) throw new Error(`pushFeatures(${viewName(v)}) did not write ${USERS} online rows: ${text.slice(0, 300)}`);
  }
  const columns = (JSON.parse(await post(setup.base, { query: frameQuery(1, 'columns') })) as { data?: { onlineFeatures?: { columns?: string[] } } }).data?.onlineFeatures?.columns;
  if (JSON.stringify(columns) !== JSON.stringify(expectedColumns())) throw new Error(`unexpected frame columns: ${JSON.stringify(columns)}`);
}

/**
 * Brings the gateway to steady state before anything is timed: every scenario's query under load, then
 * back to back, for a few seconds each. A freshly started gateway needs tens of thousands of requests
 * before V8 has sized its young generation and optimised the hot path; until then its one-client p99 for
 * 1×50 came out 2-4× the steady state in our runs (see docs/benchmarks.md), which a gateway that has been
 * serving for a while does not see.
 */
async function warmUp(setup: Setup, all: readonly Scenario[]): Promise<void> {
  const quick = setup.ctx.options.quick;
  const loadedMs = quick ? 300 : 2000;
  const sequentialMs = quick ? 300 : 3000;
  setup.ctx.log(`online: warming the gateway up, ${loadedMs + sequentialMs} ms per scenario`);
  for (const scenario of all) {
    const request = encodePost(setup.base, '/graphql', JSON.stringify({ query: scenario.query }), HEADERS);
    const connections = await Promise.all(Array.from({ length: 8 }, () => HttpConnection.open(setup.base)));
    const op = (connection: HttpConnection) => async () => {
      const res = await connection.send(request);
      if (res.status !== 200) throw new Error(`${scenario.label}: HTTP ${res.status} during warm-up: ${res.body.toString().slice(0, 300)}`);
    };
    try {
      await saturate((i) => op(connections[i]!), { concurrency: connections.length, warmupMs: 0, durationMs: loadedMs, maxRequests: 2_000_000 });
      await sequential(op(connections[0]!), { warmup: 0, count: 1_000_000, maxMs: sequentialMs });
    } finally {
      for (const c of connections) c.close();
    }
  }
}

async function post(base: URL, body: unknown): Promise<string> {
  const res = await fetch(new URL('/graphql', base), { method: 'POST', headers: HEADERS, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /graphql answered ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

async function measure(setup: Setup, scenario: Scenario): Promise<ScenarioResult> {
  const { ctx, base, redis } = setup;
  const request = encodePost(base, '/graphql', JSON.stringify({ query: scenario.query }), HEADERS);
  const keys = redisKeys(scenario.entities);

  // Check both paths answer what was pushed before timing anything. The answer is deterministic, so while
  // timing a 200 of the same length stands for "the same answer" at no cost to the measurement.
  const probe = await HttpConnection.open(base);
  const first = await probe.send(request);
  if (first.status !== 200) throw new Error(`${scenario.label}: HTTP ${first.status}: ${first.body.toString().slice(0, 300)}`);
  scenario.verify(first.body.toString(), scenario.entities);
  verifyRaw(await redis.mget(...keys), scenario.entities);
  const gatewayOp = (connection: HttpConnection): Operation => async () => {
    const res = await connection.send(request);
    if (res.status !== 200 || res.body.length !== first.body.length) throw new Error(`${scenario.label}: unexpected answer under load: HTTP ${res.status} ${res.body.toString().slice(0, 300)}`);
  };
  const rawOp: Operation = async () => {
    const values = await redis.mget(...keys);
    if (values.length !== keys.length) throw new Error(`${scenario.label}: MGET answered ${values.length} values`);
  };

  const one: SequentialOptions = { warmup: scenario.warmup, count: scenario.count, maxMs: 120_000 };
  const pids = { gateway: setup.gateway.pid, client: process.pid, redis: setup.redisPid };
  ctx.log(`online: ${scenario.label}: one client, ${scenario.count} requests each`);
  const gatewayCpu = new CpuWindow(pids);
  const gatewaySeq = await sequential(gatewayOp(probe), { ...one, onWindow: gatewayCpu });
  probe.close();
  const rawSeq = await sequential(rawOp, one);
  if (gatewaySeq.truncated || rawSeq.truncated) ctx.log(`online: ${scenario.label}: time limit reached before ${scenario.count} requests`);

  const levels: Level[] = [];
  for (const concurrency of setup.concurrency) {
    ctx.log(`online: ${scenario.label}: ${concurrency} in flight, ${setup.durationMs} ms each`);
    const connections = await Promise.all(Array.from({ length: concurrency }, () => HttpConnection.open(base)));
    const gatewayCpu = new CpuWindow(pids);
    const rawCpu = new CpuWindow(pids);
    const window = { concurrency, warmupMs: setup.warmupMs, durationMs: setup.durationMs, maxRequests: 2_000_000 };
    let gateway: SaturationResult;
    try {
      gateway = await saturate((i) => gatewayOp(connections[i]!), { ...window, onWindow: gatewayCpu });
    } finally {
      for (const c of connections) c.close();
    }
    const raw = await saturate(() => rawOp, { ...window, onWindow: rawCpu });
    levels.push({ concurrency, gateway, raw, gatewayCpu, rawCpu });
  }
  return { scenario, gateway: summarize(gatewaySeq.durationsNs), raw: summarize(rawSeq.durationsNs), gatewayCpu, levels };
}

/**
 * What the choice of HTTP client adds to the latency a client sees: the bench's own minimal client (used
 * for every number above), node:http with a keep-alive agent, and fetch (undici), on the same request.
 */
async function clientOverhead(setup: Setup, scenario: Scenario): Promise<Section> {
  const quick = setup.ctx.options.quick;
  const one: SequentialOptions = { warmup: quick ? 100 : 1000, count: quick ? 500 : 5000, maxMs: 60_000 };
  const body = JSON.stringify({ query: scenario.query });
  const url = new URL('/graphql', setup.base);
  setup.ctx.log('online: HTTP client overhead');

  const connection = await HttpConnection.open(setup.base);
  const request = encodePost(setup.base, '/graphql', body, HEADERS);
  const bench = await sequential(() => connection.send(request), one);
  connection.close();

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const nodeHttp = await sequential(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers: { ...HEADERS, 'Content-Length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
          res.on('data', () => {});
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`node:http: HTTP ${res.statusCode}`))));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('no response within 10000 ms')));
        req.on('error', reject);
        req.end(body);
      }),
    one,
  );
  agent.destroy();

  // One deadline for the whole phase: a signal per request would add its own cost to fetch's.
  const deadline = AbortSignal.timeout(one.maxMs * 2 + 10_000);
  const viaFetch = await sequential(async () => {
    const res = await fetch(url, { method: 'POST', headers: HEADERS, body, signal: deadline });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`fetch: HTTP ${res.status}`);
  }, one);

  const base = summarize(bench.durationsNs);
  const row = (name: string, s: LatencySummary) => [name, ms(s.p50), ms(s.p99), ms(s.p50 - base.p50)];
  return {
    title: `HTTP client overhead (${scenario.label}, one client)`,
    table: {
      columns: ['client', 'p50', 'p99', 'p50 added'],
      rows: [row('bench client (net, pre-encoded request)', base), row('node:http, keep-alive Agent', summarize(nodeHttp.durationsNs)), row('fetch (undici)', summarize(viaFetch.durationsNs))],
    },
    notes: ['Same gateway, same request; only the client differs. Every other table uses the bench client.'],
  };
}
