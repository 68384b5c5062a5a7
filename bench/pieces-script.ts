/**
 * Redis's CPU per aggregation hash written by the pieces script (stores/online-pieces.ts), for comparing
 * two versions of the script on one Redis, without the rest of the materializer.
 *
 *   REDIS_URL=redis://… node bench/pieces-script.ts [TREE …]   (default: this repository; e.g. a
 *   `git worktree` of the commit before)
 *
 * Each round writes, per tree, HASHES new hashes (as a stream of many entities gives a commit: two tiles of
 * the example's user view, one raw event in one bucket) in calls of PIECES_WRITES_PER_CALL, then the same
 * hashes again a second later with newer versions and a second event in the same bucket (as a busy
 * entity's next commit: nothing to prune, the bucket there). What it counts: Redis's own CPU time
 * (INFO cpu, user + system) over each phase, per hash, and the script's time as Redis counts it
 * (INFO commandstats, EVALSHA). Trees alternate round by round; the table gives each tree's figures by
 * round. Keys are the tree's and round's own, deleted after. Run it on a Redis nothing else uses.
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { scanKeys } from './materializer-fixture.ts';
import { ROOT } from './paths.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const HASHES = Number(process.env.HASHES ?? 50_000);
const CALLS_IN_FLIGHT = 10;
const HOP = 3_600_000;
const DAY = 86_400_000;
const PARTIAL = '{"tx_count_24h":{"n":3},"tx_amount_24h":{"s":[123.45,0]},"unique_merchants_7d":{"v":["m_000123","m_004567"]},"$events":[1,2]}';

interface PiecesModule {
  readonly WRITE_PIECES_LUA: string;
  readonly PIECES_WRITES_PER_CALL: number;
  piecesHeader(write: unknown, setsLeft: boolean): string;
  piecesScriptCall(header: string, writes: readonly { hash: string; write: unknown }[]): { keys: string[]; args: (string | number)[] };
}

const trees = process.argv.length > 2 ? process.argv.slice(2).map((t) => path.resolve(t)) : [ROOT];
const modules = await Promise.all(trees.map((t) => import(path.join(t, 'src/stores/online-pieces.ts')) as Promise<PiecesModule>));
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(url);
const shas = await Promise.all(modules.map((m) => redis.script('LOAD', m.WRITE_PIECES_LUA) as Promise<string>));

const now0 = Date.now() - (Date.now() % 60_000);
const prune = {
  everyMs: 60_000,
  pieces: [
    { kind: 'T', width: HOP, from: now0 - 30 * DAY },
    { kind: 'T', width: DAY, from: now0 - 31 * DAY },
    { kind: 'S', width: 300_000, from: now0 - HOP },
  ],
  eventFrom: now0 - 300_000,
  eventBucketMs: 300_000,
  eventWidths: [300_000],
  eventSlackMs: 120_000,
  expireMs: 31 * DAY,
};

/** One phase: every hash written once by `tree`'s script; Redis's CPU and the script's time, µs per hash. */
async function phase(tree: number, prefix: string, version: number, now: number): Promise<{ cpu: number; script: number }> {
  const mod = modules[tree]!;
  const writes = Array.from({ length: HASHES }, (_, i) => ({
    hash: `{User:${prefix}${i}}:pieces_script_bench`,
    write: {
      view: 'pieces_script_bench',
      entity: 'User',
      entityKey: `${prefix}${i}`,
      pieces: true,
      fields: [
        { name: `T:${HOP}:${now0 - (now0 % HOP)}`, value: `${version}|${PARTIAL}` },
        { name: `T:${DAY}:${now0 - (now0 % DAY)}`, value: `${version}|${PARTIAL}` },
      ],
      events: [{ time: now0 - 1_000 + version, member: `${now0 - 1_000 + version}:t/0/${i * 10 + version}|{"amount":${i % 997}.25,"merchant_id":"m_${i % 300}"}` }],
      prune: { ...prune, now },
    },
  }));
  const calls: { keys: string[]; args: (string | number)[] }[] = [];
  for (let i = 0; i < writes.length; i += mod.PIECES_WRITES_PER_CALL) {
    const batch = writes.slice(i, i + mod.PIECES_WRITES_PER_CALL);
    calls.push(mod.piecesScriptCall(mod.piecesHeader(batch[0]!.write, false), batch));
  }
  await redis.config('RESETSTAT');
  const before = await redisCpu();
  for (let c = 0; c < calls.length; c += CALLS_IN_FLIGHT) {
    await Promise.all(calls.slice(c, c + CALLS_IN_FLIGHT).map(({ keys, args }) => redis.evalsha(shas[tree]!, keys.length, ...keys, ...args)));
  }
  const cpu = (await redisCpu()) - before;
  const script = Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? NaN);
  return { cpu: (cpu * 1e6) / HASHES, script: script / HASHES };
}

async function redisCpu(): Promise<number> {
  const info = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]);
}

const deleteKeys = (prefix: string): Promise<void> => scanKeys(url, `{User:${prefix}*`, async (client, keys) => void (await client.del(...keys)));

console.log(`| round | tree | new hashes: Redis CPU / script, µs per hash | the same hashes again: Redis CPU / script |`);
console.log(`| --- | --- | --- | --- |`);
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 === 1 ? trees.map((_, i) => i) : trees.map((_, i) => trees.length - 1 - i);
  for (const tree of order) {
    const prefix = `psb${tree}r${round}_`;
    const fresh = await phase(tree, prefix, 1, now0);
    const again = await phase(tree, prefix, 2, now0 + 1_000);
    await deleteKeys(prefix);
    const f = (n: number) => n.toFixed(2);
    console.log(`| ${round} | ${path.basename(trees[tree]!)} | ${f(fresh.cpu)} / ${f(fresh.script)} | ${f(again.cpu)} / ${f(again.script)} |`);
  }
}
redis.disconnect();
