/** What a benchmark is to the runner (bench/main.ts): a name, and a run that answers with report sections. */
import type { Table } from './table.ts';

export interface BenchOptions {
  /** Smaller counts and shorter windows: checks the bench works, numbers are not worth keeping. */
  readonly quick: boolean;
  /** Also profile the gateway (`--cpu-prof`) for one saturation run and print where its CPU went. */
  readonly profile: boolean;
  /** Events of history archived before the materializer bench's run (`--archive-events N`); 0: none. */
  readonly archiveEvents: number;
  /** Users in the materializer bench's synthetic transactions (`--users N`): how many entities its user view has. */
  readonly users: number;
}

export interface BenchContext {
  readonly options: BenchOptions;
  /** A Redis URL; the first call starts Redis if needed (the runner stops it at the end if it started it). */
  redisUrl(): Promise<string>;
  /** A PostgreSQL URL, likewise. */
  databaseUrl(): Promise<string>;
  /** Progress, to stderr: stdout carries only the markdown report. */
  log(line: string): void;
}

export interface Section {
  readonly title: string;
  readonly text?: readonly string[];
  readonly table?: Table;
  /** Lines after the table. */
  readonly notes?: readonly string[];
}

export interface Benchmark {
  /** What `npm run bench -- <name>` selects. */
  readonly name: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<Section[]>;
}
