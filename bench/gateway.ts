/**
 * Runs `skewless serve` as its own process, as in production: the load generator and the gateway never
 * share an event loop, so the gateway's numbers are not inflated by the client's work on the same thread
 * (they do share the machine's cores, which the report states).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './paths.ts';

const MAIN = path.join(ROOT, 'src/cli/main.ts');

export interface GatewayOptions {
  /** `skewless serve` flags besides --port and --log-level. */
  readonly args: readonly string[];
  /** Extra environment; DATABASE_URL, KAFKA_BROKERS, PORT and HOST are removed unless given here. */
  readonly env: Readonly<Record<string, string>>;
  /** Flags for the gateway's `node` (e.g. `--cpu-prof`). Default none. */
  readonly nodeArgs?: readonly string[];
  /** How long start-up (listening, then /readyz 200) may take, ms. Default 30000. */
  readonly startTimeoutMs?: number;
}

export interface BenchGateway {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  readonly pid: number;
  /** Sends SIGTERM (the gateway drains and exits, writing a --cpu-prof profile) and resolves with its exit code. */
  stop(): Promise<number | null>;
}

export async function startGateway(options: GatewayOptions): Promise<BenchGateway> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'PORT', 'HOST', 'LOG_LEVEL']) delete env[name];
  Object.assign(env, options.env);
  // --log-level info: the "listening" line (which carries the port --port 0 picked) is logged at info.
  const argv = [...(options.nodeArgs ?? []), MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...options.args];
  const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // If the bench dies without stopping it (an uncaught error), the gateway must not outlive it.
  const orphaned = () => child.kill('SIGTERM');
  process.once('exit', orphaned);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', orphaned);
      resolve(code);
    }),
  );
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;

  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output = tail(output + d.toString())));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`gateway did not log "listening" within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    // Read every line for as long as the process lives: an unread pipe would eventually block its writes.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output = tail(output + line + '\n');
      const url = listeningUrl(line);
      if (url === undefined) return;
      clearTimeout(timer);
      resolve(url.replace(/\/graphql$/, ''));
    });
    void exited.then((code) => fail(new Error(`gateway exited with ${code} before listening:\n${output}`)));
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    // It drains and exits within a second or two; one that does not is killed rather than waited for.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await waitReady(base, deadline);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\ngateway output:\n${output}`, { cause: error });
  }
  return { base, pid: child.pid!, stop };
}

function listeningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    return entry.msg === 'listening' && typeof entry.url === 'string' ? entry.url : undefined;
  } catch {
    return undefined; // not a log line
  }
}

/** Polls /readyz until 200: the gateway listens before Redis is connected and turns ready by itself. */
async function waitReady(base: string, deadline: number): Promise<void> {
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/readyz`);
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway at ${base} not ready in time; last /readyz: ${last}`);
}

/** Keeps the last few KB of output for error messages. */
function tail(text: string): string {
  return text.length > 8000 ? text.slice(-8000) : text;
}

/** A gateway on a repository's schema and transforms with PostgreSQL as its offline store. */
export function startRepoGateway(repo: string, databaseUrl: string): Promise<BenchGateway> {
  return startGateway({ args: ['--schema', path.join(repo, 'schema'), '--transforms', path.join(repo, 'transforms')], env: { DATABASE_URL: databaseUrl } });
}
