/**
 * `npm run bench [-- <benchmark> ...] [--quick] [--profile]`: runs the named benchmarks (all by default),
 * starting what they need, and prints one markdown report on stdout — paste it into docs/benchmarks.md —
 * with progress on stderr.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { BenchContext, Benchmark, Section } from './benchmark.ts';
import { describeMachine, machineLines } from './machine.ts';
import { exportBench } from './export.ts';
import { historicalBench } from './historical.ts';
import { materializerBench } from './materializer.ts';
import { POPULATION } from './materializer-fixture.ts';
import { transformsBench } from './transforms.ts';
import { online } from './online.ts';
import { soak } from './soak.ts';
import { overload } from './overload.ts';
import { ROOT } from './paths.ts';
import { benchService } from './services.ts';
import type { BenchService } from './services.ts';
import { markdownTable } from './table.ts';

/** Every benchmark, in the order `npm run bench` runs them. Add new ones here. */
const BENCHMARKS: readonly Benchmark[] = [online, overload, exportBench, historicalBench, transformsBench, materializerBench, soak];

const USAGE = `Usage: npm run bench [-- <benchmark> ...] [--quick] [--profile] [--archive-events N] [--users N]

Benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')} (default: all)
  --quick     smaller counts and windows: checks the bench runs; the numbers are not worth keeping
  --profile   also profile the gateway for one saturation run and print where its CPU went
  --archive-events N
              materializer: archive N events of history before the run (default 0: an empty archive)
  --users N   materializer: users among the transactions (default ${POPULATION.users.toLocaleString('en-US')}); many more than
              events per commit make nearly every event a row of its own (tiles, slices, heads)
Redis: REDIS_URL if set, else scripts/services.sh (stopped again afterwards if the bench started it).`;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { quick: { type: 'boolean' }, profile: { type: 'boolean' }, 'archive-events': { type: 'string' }, users: { type: 'string' }, help: { type: 'boolean' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const unknown = parsed.positionals.filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.map((n) => `"${n}"`).join(', ')}\n\n${USAGE}\n`);
    return 2;
  }
  const selected = parsed.positionals.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => parsed.positionals.includes(b.name));
  const archiveEvents = Number(parsed.values['archive-events'] ?? 0);
  if (!Number.isSafeInteger(archiveEvents) || archiveEvents < 0) {
    process.stderr.write(`--archive-events must be a whole number of events, got "${parsed.values['archive-events']}"\n\n${USAGE}\n`);
    return 2;
  }
  const users = Number(parsed.values.users ?? POPULATION.users);
  if (!Number.isSafeInteger(users) || users < 1) {
    process.stderr.write(`--users must be a whole number of users, at least 1, got "${parsed.values.users}"\n\n${USAGE}\n`);
    return 2;
  }
  const options = { quick: parsed.values.quick === true, profile: parsed.values.profile === true, archiveEvents, users };

  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  let redis: BenchService | undefined;
  let postgres: BenchService | undefined;
  const ctx: BenchContext = {
    options,
    log,
    redisUrl: async () => {
      redis ??= await benchService('redis', log);
      return redis.url;
    },
    databaseUrl: async () => {
      postgres ??= await benchService('postgres', log);
      return postgres.url;
    },
  };
  const release = () => Promise.allSettled([redis?.release(), postgres?.release()]);
  // Ctrl-C: still stop the Redis we started (the gateway, our child, gets the terminal's signal itself).
  process.once('SIGINT', () => {
    log('interrupted');
    void release().finally(() => process.exit(130));
  });
  const out: string[] = [`# Skewless benchmarks`, '', `Run ${new Date().toISOString()} at ${commit()}${options.quick ? ' (--quick: numbers not representative)' : ''}.`, ''];
  let redisVersion: string | undefined;
  try {
    for (const benchmark of selected) {
      log(`${benchmark.name}: ${benchmark.title}`);
      const sections = await benchmark.run(ctx);
      out.push(`## ${benchmark.name}: ${benchmark.title}`, '', ...sections.flatMap(render));
    }
    if (redis !== undefined) redisVersion = await serverVersion(redis.url);
  } finally {
    await release();
  }
  const load = `- load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0]!.toFixed(2)}`;
  out.push('## Machine', '', ...machineLines(describeMachine(), redisVersion === undefined ? undefined : `${redisVersion} (${redis!.origin})`), load, '');
  process.stdout.write(out.join('\n'));
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

function render(section: Section): string[] {
  return [
    `### ${section.title}`,
    '',
    ...(section.text === undefined ? [] : [...section.text, '']),
    ...(section.table === undefined ? [] : [markdownTable(section.table), '']),
    ...(section.notes === undefined ? [] : [...section.notes, '']),
  ];
}

async function serverVersion(url: string): Promise<string | undefined> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return /^redis_version:(\S+)/m.exec(await client.info('server'))?.[1];
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** The commit measured, marked when the working tree differs from it. */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `commit ${head}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'an unknown commit';
  }
}

process.exitCode = await main(process.argv.slice(2));
