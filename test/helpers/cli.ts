/** Runs the real `skewless` CLI in a child process, as a user would. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './paths.ts';

const MAIN = path.join(ROOT, 'src/cli/main.ts');

/** The environment without the store variables: the gateway then uses its embedded stores. */
export function embeddedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // No demo data unless a test asks: most tests want empty stores, and seeding costs seconds per start.
  const env: NodeJS.ProcessEnv = { SKEWLESS_DEMO: 'off', ...process.env, ...extra };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'PORT', 'HOST']) if (!(name in extra)) delete env[name];
  return env;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = embeddedEnv()): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface RunningGateway {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  readonly child: ChildProcess;
  /** The "listening" log entry. */
  readonly started: Record<string, unknown>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `skewless serve --port 0` and resolves when it logs that it is listening (the log line carries
 * the port it picked). Rejects with its output if it exits first.
 */
export function startGateway(args: readonly string[] = [], env: NodeJS.ProcessEnv = embeddedEnv()): Promise<RunningGateway> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output += line + '\n';
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (entry.msg !== 'listening') return;
      const base = String(entry.url).replace(/\/graphql$/, '');
      resolve({
        base,
        child,
        started: entry,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`gateway exited with ${code} before listening:\n${output}`)));
  });
}

/** POSTs a GraphQL operation and returns the parsed body. */
export async function postGraphQL(base: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, any>; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] } }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
