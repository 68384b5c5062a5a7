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

/** CPU seconds the whole machine has spent busy (all cores, steal excluded), or undefined off Linux. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu  user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq!) / clockTicks();
  } catch {
    return undefined;
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
  #machineStart: number | undefined;
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
    this.#machineStart = machineBusySeconds();
  }

  close(): void {
    const seconds = (performance.now() - this.#startedAt) / 1000;
    const share = (before: number | undefined, after: number | undefined) => (before === undefined || after === undefined || seconds <= 0 ? undefined : (after - before) / seconds);
    const machine = share(this.#machineStart, machineBusySeconds());
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

  /** Share of one core (1 = one core fully busy) per process name or OTHERS, after close(). */
  share(name: string): number | undefined {
    return this.#shares[name];
  }
}
