/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per area (our
 * sources, each dependency, Node internals, GC), optionally only inside a time window, so the lead sees
 * where a saturated gateway spends its CPU without opening DevTools.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './paths.ts';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** Microseconds, on the same monotonic clock as process.hrtime on Linux. */
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  /** Share of the sampled time, 0..1. */
  readonly share: number;
  readonly ms: number;
}

export interface ProfileSummary {
  /** Sampled time summarised, ms. */
  readonly totalMs: number;
  /** False when the window did not match the profile's clock and every sample was used. */
  readonly windowed: boolean;
  readonly functions: readonly SelfTime[];
  readonly areas: readonly SelfTime[];
}

/** `windowUs`: [start, end] in process.hrtime microseconds; samples outside it are ignored. */
export function summarizeProfile(file: string, windowUs?: readonly [number, number]): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const collect = (inWindow: (t: number) => boolean) => {
    const fn = new Map<string, number>();
    const area = new Map<string, number>();
    let total = 0;
    let t = profile.startTime;
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      t += delta;
      if (!inWindow(t)) return;
      const node = byId.get(id);
      if (node === undefined) return;
      total += delta;
      const frame = node.callFrame;
      const where = frame.url === '' ? '' : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
      const key = `${frame.functionName || '(anonymous)'}${where}`;
      fn.set(key, (fn.get(key) ?? 0) + delta);
      const a = areaOf(frame.url, frame.functionName);
      area.set(a, (area.get(a) ?? 0) + delta);
    });
    return { fn, area, total };
  };
  let windowed = windowUs !== undefined;
  let result = windowUs === undefined ? collect(() => true) : collect((t) => t >= windowUs[0] && t <= windowUs[1]);
  // The window is meaningless if the clocks differ; then it catches (almost) nothing.
  if (windowed && result.total < 0.01 * (profile.endTime - profile.startTime)) {
    windowed = false;
    result = collect(() => true);
  }
  const top = (m: Map<string, number>): SelfTime[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, share: result.total > 0 ? us / result.total : 0, ms: us / 1000 }));
  return { totalMs: result.total / 1000, windowed, functions: top(result.fn), areas: top(result.area) };
}

function shortUrl(url: string): string {
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  return file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
}

/** Our sources per file, each dependency as a whole, Node's internals, and V8's pseudo-frames. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(builtins: JSON, buffers, sockets)';
  if (url.startsWith('node:')) return 'node internals';
  const short = shortUrl(url);
  if (url.includes('/node_modules/')) {
    const parts = short.split('/');
    return `dependency ${parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  return short;
}
