/**
 * CPU time of processes over a window, as a share of one core: shows whether the gateway was CPU-bound at
 * saturation, how much of the machine the load generator and Redis took, and how much went to processes
 * that are none of ours (a concurrent test run on a shared machine shows up there, and in the numbers).
 * Linux only (/proc); elsewhere the shares are undefined and print as n/a.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // the value on every Linux we know of
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds a process has used so far, or undefined when it cannot be read. */
export function cpuSeconds(pid: number): number | undefined {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  try {
    return procStat(pid).seconds;
  } catch {
    return undefined;
  }
}

/** A process's command name and user + system CPU seconds, from /proc/PID/stat; throws when it is gone. */
function procStat(pid: number | string): { command: string; seconds: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may itself contain spaces. The fields after it start at state
  // (field 3); utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), seconds: (Number(fields[11]) + Number(fields[12])) / clockTicks() };
}

/**
 * User + system CPU seconds used so far by every live process whose command name (as /proc shows it) is
 * `command`, by pid: PostgreSQL forks one process per connection, so a server is many processes. Empty
 * off Linux.
 */
export function commandSeconds(command: string): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = procStat(pid);
      if (stat.command === command) out.set(Number(pid), stat.seconds);
    } catch {
      // Gone since the directory was listed.
    }
  }
  return out;
}

/** The pids of every live process whose command name is `command` (commandSeconds); empty off Linux. */
export function commandPids(command: string): number[] {
  return [...commandSeconds(command).keys()];
}

/**
 * CPU seconds of the whole machine so far (all cores), from /proc/stat's first line: `busy` (user, nice,
 * system, irq, softirq; steal excluded) and `steal` (the host running something else on this machine's
 * cores: a virtual machine's cores left unscheduled). Undefined off Linux.
 */
export function machineSeconds(): { readonly busy: number; readonly steal: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu  user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return { busy: (user! + nice! + system! + irq! + softirq!) / clockTicks(), steal: (steal ?? 0) / clockTicks() };
  } catch {
    return undefined;
  }
}

/**
 * Seconds a process's main thread (the one whose tid is its pid) has spent on a core and runnable but
 * waiting for one, from the scheduler's own nanosecond counters (/proc/PID/task/PID/schedstat); undefined
 * off Linux or once the process is gone.
 */
function threadSchedSeconds(pid: number): { onCore: number; waiting: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait) ? undefined : { onCore: run / 1e9, waiting: wait / 1e9 };
  } catch {
    return undefined;
  }
}

/** How a thread spent a window, as shares of it: on a core, runnable but waiting for a core, and the rest (blocked: waiting on I/O or idle). */
export interface ThreadShares {
  readonly onCore: number;
  readonly waiting: number;
  readonly blocked: number;
}

/**
 * Measures how threads spent a window, from the scheduler, and answers for the busiest: a process's main
 * thread (its tid is its pid), or the busiest of a server's single-threaded processes (a PostgreSQL
 * backend). On a machine whose cores the consumer shares with its stores, it tells a thread that waits on
 * another (blocked) from one that has work but no core to run it on (waiting), which CPU shares cannot.
 * `pids` is asked at open and at close; a thread that starts or ends inside the window is left out.
 */
export class ThreadWindow {
  readonly #pids: () => readonly number[];
  #start = new Map<number, { onCore: number; waiting: number }>();
  #startedAt = 0;
  #busiest: ThreadShares | undefined;

  constructor(pids: () => readonly number[]) {
    this.#pids = pids;
  }

  #read(): Map<number, { onCore: number; waiting: number }> {
    const out = new Map<number, { onCore: number; waiting: number }>();
    for (const pid of this.#pids()) {
      const seconds = threadSchedSeconds(pid);
      if (seconds !== undefined) out.set(pid, seconds);
    }
    return out;
  }

  open(): void {
    this.#startedAt = performance.now();
    this.#start = this.#read();
  }

  close(): void {
    const seconds = (performance.now() - this.#startedAt) / 1000;
    this.#busiest = undefined;
    if (seconds <= 0) return;
    for (const [pid, end] of this.#read()) {
      const start = this.#start.get(pid);
      if (start === undefined) continue;
      const onCore = (end.onCore - start.onCore) / seconds;
      const waiting = (end.waiting - start.waiting) / seconds;
      if (this.#busiest === undefined || onCore > this.#busiest.onCore) this.#busiest = { onCore, waiting, blocked: Math.max(0, 1 - onCore - waiting) };
    }
  }

  /** After close(): the thread that was on a core the longest; undefined when no counters could be read. */
  busiest(): ThreadShares | undefined {
    return this.#busiest;
  }
}

/** The name share() answers for: every process that is not one of the named ones. */
export const OTHERS = 'others';

/**
 * Measures the CPU share of each named process, of each named command (every process running it, such as
 * all of a PostgreSQL server's), and of everything else, between open() and close(). A command's process
 * started inside the window counts from zero; one that ends inside it is not counted.
 */
export class CpuWindow {
  readonly #pids: Readonly<Record<string, number | undefined>>;
  readonly #commands: Readonly<Record<string, string>>;
  #start: Record<string, number | undefined> = {};
  #commandStart: Record<string, Map<number, number>> = {};
  #machineStart: { readonly busy: number; readonly steal: number } | undefined;
  #steal: number | undefined;
  #startedAt = 0;
  #shares: Record<string, number | undefined> = {};

  /** `commands`: name → command, as `{ PostgreSQL: 'postgres' }`; the named pids are left out of them. */
  constructor(pids: Readonly<Record<string, number | undefined>>, commands: Readonly<Record<string, string>> = {}) {
    this.#pids = pids;
    this.#commands = commands;
  }

  #commandSeconds(command: string): Map<number, number> {
    const own = new Set(Object.values(this.#pids));
    return new Map([...commandSeconds(command)].filter(([pid]) => !own.has(pid)));
  }

  open(): void {
    this.#startedAt = performance.now();
    this.#start = Object.fromEntries(Object.entries(this.#pids).map(([name, pid]) => [name, pid === undefined ? undefined : cpuSeconds(pid)]));
    this.#commandStart = Object.fromEntries(Object.entries(this.#commands).map(([name, command]) => [name, this.#commandSeconds(command)]));
    this.#machineStart = machineSeconds();
  }

  close(): void {
    const seconds = (performance.now() - this.#startedAt) / 1000;
    const share = (before: number | undefined, after: number | undefined) => (before === undefined || after === undefined || seconds <= 0 ? undefined : (after - before) / seconds);
    const end = machineSeconds();
    const machine = share(this.#machineStart?.busy, end?.busy);
    this.#steal = share(this.#machineStart?.steal, end?.steal);
    this.#shares = Object.fromEntries(Object.entries(this.#pids).map(([name, pid]) => [name, share(this.#start[name], pid === undefined ? undefined : cpuSeconds(pid))]));
    for (const [name, command] of Object.entries(this.#commands)) {
      const before = this.#commandStart[name]!;
      let used = 0;
      for (const [pid, now] of this.#commandSeconds(command)) used += now - (before.get(pid) ?? 0);
      this.#shares[name] = seconds <= 0 ? undefined : used / seconds;
    }
    const ours = Object.values(this.#shares);
    // Clamped at 0: the counters tick at 1/CLK_TCK, so a quiet machine can read a hair below our own sum.
    this.#shares[OTHERS] = machine === undefined || ours.includes(undefined) ? undefined : Math.max(0, machine - ours.reduce((a, b) => a! + b!, 0)!);
  }

  /** Share of one core the host took from the machine over the window (steal, all cores), after close(). */
  steal(): number | undefined {
    return this.#steal;
  }

  /** Share of one core (1 = one core fully busy) per process name or OTHERS, after close(). */
  share(name: string): number | undefined {
    return this.#shares[name];
  }
}
