/**
 * A PostgreSQL or Kafka of one test's own, started by scripts/services.sh on free ports in a fresh run
 * directory, for fault tests that stop and restart it. The shared services other tests use are never
 * touched. `up` always starts from an empty data directory, so a restart that must keep the data goes
 * around it: pg_ctl on the same data directory, or the broker's own command line run again.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ROOT } from './paths.ts';
import { freePort } from './redis-server.ts';

const run = promisify(execFile);

/** Polls `done` until it holds; the deadline only bounds a broken run. */
export async function waitFor(done: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

interface RunDir {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  services(command: 'up' | 'down', service: 'postgres' | 'kafka'): Promise<void>;
}

async function runDir(prefix: string, ports: Record<string, number>): Promise<RunDir> {
  const dir = await mkdtemp(path.join(tmpdir(), `skewless-${prefix}-`));
  // mkdtemp makes it private (0700); PostgreSQL, run as the postgres user under root, must get through it.
  await chmod(dir, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, SKEWLESS_SERVICES_RUN: path.join(dir, 'run') };
  for (const [name, port] of Object.entries(ports)) env[name] = String(port);
  return {
    dir,
    env,
    services: async (command, service) => {
      await run(path.join(ROOT, 'scripts/services.sh'), [command, service], { env, cwd: ROOT });
    },
  };
}

const alive = async (pid: number): Promise<boolean> => {
  // A zombie has exited: where nothing reaps orphans its /proc entry stays.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z /.test(stat);
};

export interface PrivatePostgres {
  readonly url: string;
  /**
   * pg_ctl stop: `fast` (default) cuts open sessions off, as when a server is restarted; `immediate` kills
   * every process at once, as a crash does (the next start recovers from the WAL).
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts the server again on the same data directory and resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and deletes its data. */
  close(): Promise<void>;
}

async function pgBinDir(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

export async function privatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const rd = await runDir('pg', { SKEWLESS_PG_PORT: port });
  const data = path.join(rd.env.SKEWLESS_SERVICES_RUN!, 'postgres', 'data');
  const log = path.join(rd.env.SKEWLESS_SERVICES_RUN!, 'postgres', 'postgres.log');
  const bin = await pgBinDir();
  // PostgreSQL refuses to run as root; services.sh runs it as the postgres user then, and so must we.
  const pgCtl = (args: string[]) => (process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', `${bin}/pg_ctl`, ...args], { cwd: '/' }) : run(`${bin}/pg_ctl`, args));
  let up = false;
  const close = async () => {
    await rd.services('down', 'postgres').catch(() => {});
    await rm(rd.dir, { recursive: true, force: true });
  };
  try {
    await rd.services('up', 'postgres');
    up = true;
  } finally {
    if (!up) await close();
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/skewless`,
    stop: async (mode = 'fast') => {
      await pgCtl(['-D', data, '-m', mode, '-w', 'stop']);
    },
    start: async () => {
      await pgCtl(['-D', data, '-l', log, '-w', '-t', '60', 'start']);
    },
    close,
  };
}

export interface PrivateKafka {
  readonly brokers: string;
  /** Stops the broker (SIGTERM, a controlled shutdown) and resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts the broker again on the same data and resolves once it serves. */
  start(): Promise<void>;
  /** Stops it for good and deletes its data. */
  close(): Promise<void>;
  /** How long the first start took, ms: reported by the test, never asserted. */
  readonly startedInMs: number;
}

export async function privateKafka(): Promise<PrivateKafka> {
  const port = await freePort();
  const controller = await freePort();
  const rd = await runDir('kafka', { SKEWLESS_KAFKA_PORT: port, SKEWLESS_KAFKA_CONTROLLER_PORT: controller });
  const kafkaDir = path.join(rd.env.SKEWLESS_SERVICES_RUN!, 'kafka');
  const pidFile = path.join(kafkaDir, 'kafka.pid');
  const serverLog = path.join(kafkaDir, 'server.log');
  const close = async () => {
    await rd.services('down', 'kafka').catch(() => {});
    await rm(rd.dir, { recursive: true, force: true });
  };
  const began = Date.now();
  let up = false;
  try {
    await rd.services('up', 'kafka');
    up = true;
  } finally {
    if (!up) await close();
  }
  const startedInMs = Date.now() - began;
  const pid = async () => Number((await readFile(pidFile, 'utf8')).trim());
  // The broker's command line as services.sh built it: a restart reuses it so the data directory is kept.
  const argv = (await readFile(`/proc/${await pid()}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
  // The log file is appended to across starts: a new "started" line is what says this start is done.
  const startedLines = async () => (await readFile(serverLog, 'utf8').catch(() => '')).split('Kafka Server started').length - 1;
  return {
    brokers: `127.0.0.1:${port}`,
    startedInMs,
    stop: async () => {
      const p = await pid();
      process.kill(p, 'SIGTERM');
      await waitFor(async () => !(await alive(p)), 'the broker to exit');
    },
    start: async () => {
      const before = await startedLines();
      const out = await open(path.join(kafkaDir, 'kafka.out'), 'a');
      try {
        const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out.fd, out.fd] });
        child.unref();
        // services.sh `down` finds the broker through this file.
        await writeFile(pidFile, `${child.pid}\n`);
      } finally {
        await out.close();
      }
      await waitFor(async () => (await startedLines()) > before, 'the broker to start again');
    },
    close,
  };
}
