/** What the numbers were measured on, printed with every run so docs/benchmarks.md can be refreshed by rerunning. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  /** `nproc`: CPUs this process may run on. */
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** cgroup v2 CPU limit (`cpu.max`), when one is set. */
  readonly cpuQuota?: string;
  readonly kernel: string;
  readonly node: string;
}

export function describeMachine(): Machine {
  const quota = readText('/sys/fs/cgroup/cpu.max');
  return {
    nproc: nproc(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(readText('/proc/cpuinfo') ?? '')?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: os.totalmem() / 2 ** 30,
    ...(quota === undefined || quota.startsWith('max') ? {} : { cpuQuota: quota }),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** One `- key: value` line per fact, for stdout and the doc. */
export function machineLines(machine: Machine, redisVersion: string | undefined): string[] {
  return [
    `- nproc: ${machine.nproc}`,
    `- CPU: ${machine.cpuModel}`,
    ...(machine.cpuQuota === undefined ? [] : [`- cgroup cpu.max: ${machine.cpuQuota}`]),
    `- memory: ${machine.memoryGiB.toFixed(1)} GiB`,
    `- kernel: ${machine.kernel}`,
    `- Node: ${machine.node}`,
    `- Redis: ${redisVersion ?? 'not used'}`,
  ];
}

function nproc(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return os.availableParallelism();
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
